"""One end of a NAS connection: 5GMM messages in and out, protected once security mode is on.

Both roles use it (the core's procedures and the UE's). Before security mode, messages cross
as they are; afterwards every message is integrity protected and ciphered under the context
the procedure established, except SECURITY MODE COMMAND itself, which TS 24.501 4.4.4 has
integrity protected under the new context but not ciphered (security header type 3), while
SECURITY MODE COMPLETE is both (type 4).

What a role accepts unprotected after security mode differs (TS 24.501 4.4.4.2 for the UE;
the core accepts nothing), so ``open`` returns plain messages as they came and the caller,
which knows its role, judges them with :func:`~dynsub_cli.security.nas.header_type`.
"""

from __future__ import annotations

from collections.abc import Callable

from dynsub_cli.nas import codec
from dynsub_cli.nas import messages as m
from dynsub_cli.security.nas import Role, SecurityContext, SecurityHeaderType, header_type

#: Sees (protected PDU, its plaintext) for each protected message: a trace of what no capture
#: shows. As sensitive as the NAS keys.
Plaintext = Callable[[bytes, bytes], None]


class Channel:
    def __init__(self, role: Role) -> None:
        self._role = role
        self._context: SecurityContext | None = None
        self.on_plaintext: Plaintext | None = None

    @property
    def secured(self) -> bool:
        return self._context is not None

    def secure(self, context: SecurityContext) -> None:
        """From now on, protect what is sent and unprotect what is received."""
        self._context = context

    def open(self, pdu: bytes) -> m.Message:
        """The message in ``pdu``: unprotected (MAC and NAS COUNT checked) when it is protected
        and a context is on; else as it came (a plain message, or a protected one before
        security mode, for the caller to judge)."""
        if self._context is not None and header_type(pdu) is not SecurityHeaderType.PLAIN:
            plain = self._context.unprotect(pdu)
            if self.on_plaintext is not None:
                self.on_plaintext(pdu, plain)
            return codec.decode(plain)
        return codec.decode(pdu)

    def seal(self, message: m.PlainMessage, *, new_context: bool = False) -> bytes:
        """The PDU for ``message``: plain before security mode, protected after."""
        plain = codec.encode(message)
        if self._context is None:
            return plain
        cipher = not (new_context and self._role is Role.NETWORK)
        protected = self._context.protect(plain, new_context=new_context, cipher=cipher)
        if self.on_plaintext is not None:
            self.on_plaintext(protected, plain)
        return protected
