"""CA keys in a PKCS#11 token: generated there, never extractable, signing through the token.

A key is named by an RFC 7512 ``pkcs11:`` URI, which ``pki.toml`` records::

    pkcs11:token=factory;object=dynsub%20manufacturer%20CA%203f9a2c;type=private
        ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/secure/pin

``pin-source`` (RFC 7512 2.4) names a 0600 file holding the user PIN; without it the PIN is
taken from the environment variable ``DYNSUB_PKCS11_PIN``. Neither the PIN nor the key is ever
written into the URI, a log or a pipe: a mint worker re-reads the PIN from the same source and
opens its own session (:class:`TokenKey` is the :class:`~dynsub_cli.pki.signer.SignerSource`).

PKCS#11 logs a user in per application and token (PKCS#11 v2.40 5.6: C_Login fails with
CKR_USER_ALREADY_LOGGED_IN for a second session), so one process keeps one logged-in session
per token and every signer of that token shares it.

SoftHSM 2.6 offers CKM_ECDSA (sign a digest) and not CKM_ECDSA_SHA256, so the data is hashed
here and the token signs the digest; its raw r || s answer (PKCS#11 2.3.1) becomes the DER
Ecdsa-Sig-Value X.509 wants (RFC 3279 2.2.3).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from dynsub_cli.errors import BadInput, TokenError, TokenKeyMissing, TokenLoginFailed
from dynsub_cli.files import read_secret
from dynsub_cli.pki.constants import PIN_ENV
from dynsub_cli.pki.constants import SOFTHSM_MODULE as SOFTHSM_MODULE  # re-exported: tests name it
from dynsub_cli.pki.profiles import KeyType
from dynsub_cli.pki.signer import SignerSource

_CURVE_NAMES = {KeyType.P256: "secp256r1", KeyType.P384: "secp384r1"}


#: What a process that forks signing workers imports before it forks (the mint's forkserver):
#: python-pkcs11 takes 50 ms to import, the time of hundreds of signatures, and each worker
#: would import it again. Importing it starts nothing in PKCS#11: every worker still
#: initialises the library and logs in itself (PKCS#11 v2.40 5.4 and 5.6).
PRELOAD = ("pkcs11",)


def _library() -> Any:
    try:
        import pkcs11
    except ImportError as err:
        raise TokenError(
            "PKCS#11 support needs python-pkcs11: pip install 'dynsub[pkcs11]'"
        ) from err
    return pkcs11


# --- naming a key: RFC 7512 URIs ------------------------------------------------------------


@dataclass(frozen=True)
class TokenKey:
    """Where a CA key is: module, token, key label; and where its PIN comes from."""

    module: str
    token: str
    label: str
    pin_file: Path | None = None  # None: the PIN is in the environment, DYNSUB_PKCS11_PIN

    def uri(self) -> str:
        """RFC 7512 URI: token and object in the path, module and PIN source as queries."""
        path = f"token={_pct(self.token)};object={_pct(self.label)};type=private"
        query = f"module-path={_pct(self.module)}"
        if self.pin_file is not None:
            query += f"&pin-source={_pct('file:' + str(self.pin_file))}"
        return f"pkcs11:{path}?{query}"

    @classmethod
    def parse(cls, uri: str, where: str = "pkcs11 URI") -> TokenKey:
        if not uri.startswith("pkcs11:"):
            raise BadInput(f"{where}: {uri!r} is not a pkcs11: URI (RFC 7512)")
        path, _, query = uri[len("pkcs11:") :].partition("?")
        attributes = _pairs(path, ";", where)
        queries = _pairs(query, "&", where) if query else {}
        for needed, table in (("token", attributes), ("object", attributes)):
            if needed not in table:
                raise BadInput(f"{where}: {uri!r} names no {needed}")
        if "module-path" not in queries:
            raise BadInput(f"{where}: {uri!r} has no module-path (the PKCS#11 library)")
        pin_file = None
        source = queries.get("pin-source")
        if source is not None:
            if not source.startswith("file:"):
                raise BadInput(f"{where}: pin-source {source!r}: only file: sources are read")
            pin_file = Path(source[len("file:") :].removeprefix("//"))
        return cls(queries["module-path"], attributes["token"], attributes["object"], pin_file)

    def open(self) -> Pkcs11Signer:
        """The key as a signer, in this process (:class:`SignerSource`)."""
        return Pkcs11Signer.open(self)

    def describe(self) -> str:
        return f"key {self.label!r} in token {self.token!r} ({self.module})"


def _pct(value: str) -> str:
    # RFC 7512 2.3: anything outside the unreserved set and a few path characters is %-encoded.
    return quote(value, safe="/:")


def _pairs(text: str, separator: str, where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in text.split(separator):
        name, equals, value = part.partition("=")
        if not equals:
            raise BadInput(f"{where}: {part!r} is not name=value (RFC 7512)")
        found[name] = unquote(value)
    return found


# --- sessions --------------------------------------------------------------------------------

_sessions: dict[tuple[int, str, str], Any] = {}


def _pin(key: TokenKey) -> str:
    if key.pin_file is not None:
        data = read_secret(key.pin_file, "PKCS#11 PIN file")
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError as err:
            raise TokenLoginFailed(f"{key.pin_file}: the PIN file is not UTF-8 text") from err
    pin = os.environ.get(PIN_ENV)
    if not pin:
        raise TokenLoginFailed(
            f"no PIN for token {key.token!r}: set {PIN_ENV}, or record a 0600 PIN file "
            "(pin-source) when the PKI is made"
        )
    return pin


def session(key: TokenKey) -> Any:
    """This process's logged-in session with the key's token (opened on first use)."""
    lib = _library()
    cache_key = (os.getpid(), key.module, key.token)
    cached = _sessions.get(cache_key)
    if cached is not None:
        return cached
    if not Path(key.module).is_file():
        raise TokenError(f"PKCS#11 module {key.module}: not found; install it or fix module-path")
    try:
        token = lib.lib(key.module).get_token(token_label=key.token)
    except lib.NoSuchToken as err:
        raise TokenKeyMissing(
            f"no PKCS#11 token labelled {key.token!r} in {key.module} "
            "(is SOFTHSM2_CONF pointing at its folder? softhsm2-util --show-slots lists them)"
        ) from err
    except lib.PKCS11Error as err:
        raise TokenError(f"PKCS#11 module {key.module}: cannot be used: {err}") from err
    pin = _pin(key)
    try:
        opened = token.open(rw=True, user_pin=pin)
    except (lib.PinIncorrect, lib.PinInvalid, lib.PinLenRange) as err:
        raise TokenLoginFailed(f"token {key.token!r}: the PIN is wrong") from err
    except lib.PinLocked as err:
        raise TokenLoginFailed(
            f"token {key.token!r}: the PIN is locked (too many wrong tries); the token's "
            "security officer must unlock it"
        ) from err
    except lib.PKCS11Error as err:
        raise TokenError(f"token {key.token!r}: cannot open a session: {_error(err)}") from err
    _sessions[cache_key] = opened
    return opened


def _error(err: Exception) -> str:
    return str(err) or type(err).__name__


# --- the signer -----------------------------------------------------------------------------


class Pkcs11Signer:
    """A :class:`~dynsub_cli.pki.signer.Signer` whose private key stays in the token."""

    def __init__(self, key: TokenKey, private: Any, public_key: ec.EllipticCurvePublicKey) -> None:
        self._key = key
        self._private = private
        self._public = public_key
        found = KeyType.of(public_key)
        if found is None:
            raise TokenError(f"{key.describe()}: not an ECDSA P-256 or P-384 key")
        self._type = found
        self._hash = hashlib.sha256 if found is KeyType.P256 else hashlib.sha384
        self._half = (public_key.curve.key_size + 7) // 8
        self._lib = _library()

    def __repr__(self) -> str:
        return f"Pkcs11Signer({self._key.describe()})"

    @classmethod
    def open(cls, key: TokenKey) -> Pkcs11Signer:
        lib = _library()
        opened = session(key)
        try:
            private = opened.get_key(object_class=lib.ObjectClass.PRIVATE_KEY, label=key.label)
            public = opened.get_key(object_class=lib.ObjectClass.PUBLIC_KEY, label=key.label)
            params = bytes(public[lib.Attribute.EC_PARAMS])
            point = bytes(public[lib.Attribute.EC_POINT])
        except lib.NoSuchKey as err:
            raise TokenKeyMissing(
                f"{key.describe()}: no such key pair in the token (deleted? another token?)"
            ) from err
        except lib.PKCS11Error as err:
            raise TokenError(f"{key.describe()}: cannot be read: {_error(err)}") from err
        return cls(key, private, _public_key(params, point, key))

    @property
    def key_type(self) -> KeyType:
        return self._type

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, data: bytes) -> bytes:
        lib = self._lib
        digest = self._hash(data).digest()
        try:
            raw = self._private.sign(digest, mechanism=lib.Mechanism.ECDSA)
        except lib.PKCS11Error as err:
            raise TokenError(f"{self._key.describe()}: signing failed: {_error(err)}") from err
        if len(raw) != 2 * self._half:
            raise TokenError(f"{self._key.describe()}: the token answered a malformed signature")
        r = int.from_bytes(raw[: self._half], "big")
        s = int.from_bytes(raw[self._half :], "big")
        return encode_dss_signature(r, s)

    def source(self) -> SignerSource:
        return self._key

    @property
    def token_key(self) -> TokenKey:
        return self._key

    @property
    def extractable(self) -> bool:
        """Whether the token would ever let the private key out (it should say no)."""
        lib = _library()
        attribute = lib.Attribute
        return bool(self._private[attribute.EXTRACTABLE]) or not bool(
            self._private[attribute.SENSITIVE]
        )


#: CKA_EC_PARAMS of the curves dynsub uses: the named curve's OID, DER (RFC 5480 2.1.1.1).
_CURVES: dict[bytes, KeyType] = {
    bytes.fromhex("06082a8648ce3d030107"): KeyType.P256,  # secp256r1
    bytes.fromhex("06052b81040022"): KeyType.P384,  # secp384r1
}


def _public_key(params: bytes, point: bytes, key: TokenKey) -> ec.EllipticCurvePublicKey:
    key_type = _CURVES.get(params)
    if key_type is None:
        raise TokenError(f"{key.describe()}: not on P-256 or P-384; dynsub signs with those")
    # CKA_EC_POINT is the X9.62 point inside a DER OCTET STRING (PKCS#11 v2.40 2.3.3); a few
    # modules give the bare point.
    if len(point) > 2 and point[0] == 0x04 and point[1] == len(point) - 2:
        point = point[2:]
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(key_type.curve, point)
    except ValueError as err:
        raise TokenError(f"{key.describe()}: the token's public key does not decode") from err


# --- making a key ---------------------------------------------------------------------------


def generate(
    module: str, token: str, label_prefix: str, key_type: KeyType, pin_file: Path | None
) -> TokenKey:
    """A new key pair generated inside the token: private part sensitive, never extractable.

    The label gets a random suffix so that a second PKI on the same token never finds the
    first one's key.
    """
    lib = _library()
    from pkcs11.util.ec import encode_named_curve_parameters

    key = TokenKey(module, token, f"{label_prefix} {secrets.token_hex(3)}", pin_file)
    opened = session(key)
    attribute = lib.Attribute
    try:
        parameters = opened.create_domain_parameters(
            lib.KeyType.EC,
            {attribute.EC_PARAMS: encode_named_curve_parameters(_CURVE_NAMES[key_type])},
            local=True,
        )
        parameters.generate_keypair(
            store=True,
            label=key.label,
            public_template={attribute.VERIFY: True},
            # PKCS#11 v2.40 4.9: a sensitive, non-extractable key never leaves the token.
            private_template={
                attribute.SIGN: True,
                attribute.SENSITIVE: True,
                attribute.EXTRACTABLE: False,
                attribute.TOKEN: True,
                attribute.PRIVATE: True,
            },
        )
    except lib.PKCS11Error as err:
        raise TokenError(f"token {token!r}: cannot generate a key: {_error(err)}") from err
    return key
