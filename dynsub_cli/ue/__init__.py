"""The UE: onboarding with its factory certificate, registering with its subscription.

session: the sans-I/O procedures; client: their TCP shell; device: the factory credentials;
state: the generated subscription on disk.
"""
