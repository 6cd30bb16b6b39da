"""What the PKI's command line offers before anything runs: its defaults and its choices.

They are here, importing nothing, so that `dynsub pki --help` can show them without importing
cryptography and the PKI's modules (issue 11: start-up). The defaults are defined here only
(:mod:`authority`, :mod:`hsm` and :mod:`revocation` use these); each choice list is the values
of an enum whose members carry cryptography objects, in its order, and tests/cli/test_startup.py
holds the two equal.
"""

#: The O of the manufacturer CA and of every device, and of the operator CA and the core.
DEFAULT_MANUFACTURER = "dynsub test manufacturer"
DEFAULT_OPERATOR = "dynsub test operator"
DEFAULT_CA_DAYS = 7305  # 20 years: CAs outlive the devices they vouch for
DEFAULT_CORE_DAYS = 825
#: Days from a CRL's thisUpdate to its nextUpdate (RFC 5280 5.1.2.5).
DEFAULT_CRL_DAYS = 7

#: Where a token's user PIN is read from when no PIN file is named.
PIN_ENV = "DYNSUB_PKCS11_PIN"
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"

#: The values of :class:`dynsub_cli.pki.profiles.KeyType`, and the one a PKI has by default.
KEY_TYPES = ("p256", "p384")
DEFAULT_KEY_TYPE = "p256"
#: The values of :class:`dynsub_cli.pki.defects.Defect`.
DEFECTS = (
    "expired",
    "not-yet-valid",
    "no-device-policy",
    "wrong-eku",
    "ca-true",
    "bad-imei-check-digit",
    "imei-cn-mismatch",
    "untrusted-ca",
    "wrong-key-type",
    "revoked",
)
#: The values of :class:`dynsub_cli.pki.revocation.Reason` (RFC 5280 5.3.1).
REASONS = ("keyCompromise", "affiliationChanged", "superseded", "cessationOfOperation")
