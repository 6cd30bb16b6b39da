"""The UE: onboarding with its factory certificate, registering with its subscription.

procedure: what the sans-I/O procedures share; onboarding and registration: the two
procedures; client: their TCP shell; device: the factory credentials; state: the generated
subscription on disk.
"""
