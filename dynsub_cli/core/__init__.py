"""The onboarding core: AMF, AUSF (EAP server), UDM/UDR and provisioning in one process.

session: the sans-I/O state machine of one NAS connection; server: its TCP shell;
network: what sessions share, loaded from core.toml; refusals: every refusal and its cause;
provisioning: the dialogue's business rules; setup: `core init`; service: `core serve`.
"""
