"""EAP-TLS 1.3 (RFC 3748, RFC 5216, RFC 9190), sans-I/O: the AUSF's EAP server and the UE's peer.

The public surface: ``eap.tls.Authenticator`` and ``eap.tls.Peer`` (the engines),
``eap.credentials.Credentials`` (what a side presents), ``eap.keys.Result`` (what success
leaves), and ``eap.packet`` (the codec, for tracing and tests).
"""

from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.eap.keys import Result
from dynsub_cli.eap.tls import Authenticator, Peer, Verifier

__all__ = ["Authenticator", "Credentials", "Peer", "Result", "Verifier"]
