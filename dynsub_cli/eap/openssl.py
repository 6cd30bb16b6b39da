"""The boundary with pyOpenSSL: one TLS 1.3 connection over memory BIOs, errors in words.

Nothing outside this module touches ``OpenSSL``. OpenSSL's own chain verification is switched
off (its verify callback accepts everything) because the decision belongs to the caller's
verifier (``dynsub_cli.pki.verify``), which knows the 3GPP profiles, CRLs and enrollment policy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from cryptography import x509
from OpenSSL import SSL

from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.errors import AuthenticationError, ProtocolError

#: A keylog sink: receives one NSS key log line (``CLIENT_HANDSHAKE_TRAFFIC_SECRET ...``)
#: at a time, for Wireshark's "(Pre)-Master-Secret log filename".
Keylog = Callable[[bytes], None]
#: Called with the chain the TLS client saw (leaf first), while OpenSSL is still processing
#: the server's Certificate message; raising makes OpenSSL abort with an alert.
ChainCheck = Callable[[list[x509.Certificate]], None]

_READ_SIZE = 16384  # one TLS record's plaintext at most (RFC 8446 5.1)

# OpenSSL reason strings -> what they mean for EAP-TLS, to say which side refused what.
_HINTS = {
    "unknown ca": "the peer does not trust our certificate's issuer",
    "bad certificate": "the peer refused our certificate",
    "certificate unknown": "the peer refused our certificate",
    "unsupported certificate": "the peer refused our certificate's type",
    "certificate required": "the peer insists on a certificate we did not send",
    "peer did not return a certificate": (
        "the peer sent no certificate; EAP-TLS requires mutual authentication (RFC 5216 2.1)"
    ),
    "unsupported protocol": "no common TLS version: dynsub speaks TLS 1.3 only",
    "protocol version": "no common TLS version: dynsub speaks TLS 1.3 only",
    "wrong version number": "the peer does not speak TLS 1.3",
    "handshake failure": "no common cipher suite, group or signature algorithm",
    "decrypt error": "a handshake signature or Finished did not verify",
    "bad record mac": "a TLS record failed its integrity check",
}


def describe(err: SSL.Error) -> str:
    """OpenSSL's error queue, in words, with what it means when we know."""
    reasons: list[str] = []
    for entry in err.args[0] if err.args and isinstance(err.args[0], list) else []:
        reason = str(entry[-1]) if isinstance(entry, tuple) and entry else str(entry)
        if reason and reason not in reasons:
            reasons.append(reason)
    if not reasons:
        return "the TLS handshake failed with no reason from OpenSSL"
    text = "; ".join(reasons)
    for reason in reasons:
        for key, hint in _HINTS.items():
            if key in reason:
                sent = "alert" in reason
                return f"{hint} (TLS {'alert from the peer' if sent else 'error'}: {text})"
    return f"TLS failure: {text}"


@functools.lru_cache(maxsize=64)
def _context(credentials: Credentials, keylog: Keylog | None, tls12: bool = False) -> SSL.Context:
    # One context per credentials (compared by identity) and keylog: a core serves every
    # session with the same one, as OpenSSL intends (SSL_CTX is shared, SSL is per connection),
    # instead of loading its certificate and key again for each onboarding.
    context = SSL.Context(SSL.TLS_METHOD)
    # RFC 9190: EAP-TLS 1.3; TLS 1.2 (RFC 5216 keys) only where asked: the RADIUS server role,
    # whose peers (e.g. wpa_supplicant) may not speak 1.3.
    context.set_min_proto_version(SSL.TLS1_2_VERSION if tls12 else SSL.TLS1_3_VERSION)
    context.set_max_proto_version(SSL.TLS1_3_VERSION)
    context.use_certificate(credentials.certificate)
    context.use_privatekey(credentials.private_key)
    for intermediate in credentials.chain:
        context.add_extra_chain_cert(intermediate)
    # No resumption (RFC 9190 2.1.2 is optional): OpenSSL still issues stateful TLS 1.3
    # tickets with NO_TICKET, but with the session cache off they can never be redeemed.
    context.set_options(SSL.OP_NO_TICKET)
    context.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    if keylog is not None:
        sink = keylog
        context.set_keylog_callback(lambda _conn, line: sink(line))
    return context


class TlsConnection:
    """A TLS 1.3 endpoint whose records go in with ``feed`` and come out with ``take``."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        server: bool,
        keylog: Keylog | None = None,
        check_chain: ChainCheck | None = None,
        tls12: bool = False,
    ) -> None:
        try:
            self._conn = SSL.Connection(_context(credentials, keylog, tls12), None)
        except SSL.Error as err:
            raise AuthenticationError(f"cannot set up TLS: {describe(err)}") from err
        self._server = server
        self._check_chain = check_chain
        self._chain_checked = False
        self._refusal: BaseException | None = None
        self._chain: list[x509.Certificate] | None = None
        if server:
            # RFC 5216 2.1 / RFC 9190 2.1.1: the server MUST request the peer's certificate.
            mode = SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT
            self._conn.set_verify(mode, self._accept)
            self._conn.set_accept_state()
        else:
            self._conn.set_verify(SSL.VERIFY_PEER, self._verify_as_client)
            self._conn.set_connect_state()

    @staticmethod
    def _accept(*_args: Any) -> bool:
        return True

    def _verify_as_client(self, conn: SSL.Connection, *_args: Any) -> bool:
        # OpenSSL calls this once per certificate; the whole presented chain is known from the
        # first call, so the caller's verifier runs once and its answer stands for every call.
        # pyOpenSSL drops exceptions raised by connection-level callbacks, so keep it here.
        if not self._chain_checked:
            self._chain_checked = True
            self._chain = list(conn.get_peer_cert_chain(as_cryptography=True) or [])
            if self._check_chain is not None:
                try:
                    self._check_chain(list(self._chain))
                except Exception as err:  # the verifier's refusal, re-raised by handshake()
                    self._refusal = err
        return self._refusal is None

    def feed(self, records: bytes) -> None:
        self._conn.bio_write(records)

    def take(self) -> bytes:
        """Everything OpenSSL has written for the peer since the last call."""
        out = []
        while True:
            try:
                chunk = self._conn.bio_read(_READ_SIZE)
            except SSL.WantReadError:
                break
            if not chunk:
                break
            out.append(chunk)
        return b"".join(out)

    def handshake(self) -> bool:
        """Advance the handshake: True once complete, False if it waits for the peer."""
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            return False
        except SSL.Error as err:
            if self._refusal is not None:
                raise self._refusal from None
            raise AuthenticationError(f"TLS handshake failed: {describe(err)}") from err
        return True

    def send(self, data: bytes) -> None:
        try:
            self._conn.sendall(data)
        except SSL.Error as err:
            raise AuthenticationError(f"TLS send failed: {describe(err)}") from err

    def receive(self) -> bytes:
        """All application data the fed records carry (b"" if none)."""
        out = []
        while True:
            try:
                out.append(self._conn.recv(_READ_SIZE))
            except SSL.WantReadError:
                break
            except SSL.ZeroReturnError as err:
                raise AuthenticationError(
                    "the peer closed the TLS connection before EAP-TLS finished"
                ) from err
            except SSL.Error as err:
                raise AuthenticationError(
                    f"TLS failure after the handshake: {describe(err)}"
                ) from err
        return b"".join(out)

    def peer_chain(self) -> list[x509.Certificate]:
        """The chain the peer presented, leaf first (empty if it presented none)."""
        if self._chain is None:
            chain = list(self._conn.get_peer_cert_chain(as_cryptography=True) or [])
            if self._server:
                # SSL_get_peer_cert_chain(3): on the server the peer's leaf is not in it.
                leaf = self._conn.get_peer_certificate(as_cryptography=True)
                chain = [leaf, *chain] if leaf is not None else []
            self._chain = chain
        return list(self._chain)

    def export(self, label: bytes, length: int, context: bytes | None) -> bytes:
        """RFC 8446 7.5 exporter (what RFC 9190 2.3 derives every EAP key from); in TLS 1.2,
        with no context, the RFC 5705 exporter is RFC 5216 2.3's PRF over both randoms."""
        try:
            return bytes(self._conn.export_keying_material(label, length, context))
        except SSL.Error as err:
            raise ProtocolError(f"TLS exporter failed: {describe(err)}") from err

    @property
    def randoms(self) -> bytes:
        """client.random || server.random (RFC 5216 2.3: the TLS 1.2 Method-Id)."""
        return bytes(self._conn.client_random() or b"") + bytes(self._conn.server_random() or b"")

    @property
    def version(self) -> str:
        return str(self._conn.get_protocol_version_name())

    @property
    def cipher(self) -> str:
        return str(self._conn.get_cipher_name() or "")
