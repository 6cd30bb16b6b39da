"""`dynsub core radius-config DIR`: a FreeRADIUS 3.2 folder that is this core's DCS.

What the folder holds (``freeradius -f -d DIR`` runs it with no edits):

- ``radiusd.conf``: one virtual server listening on the chosen address (listen sections, not
  ``-i``/``-p``: those bypass the virtual servers), the ``eap`` module with EAP-TLS only,
  TLS 1.2 and 1.3, no session cache (every onboarding is a full authentication, RFC 9190 2.1.2
  resumption would skip the certificate), ``check_crl`` on the device certificate;
- ``clients.conf`` (0600): the core as the one RADIUS client, with the shared secret and
  ``require_message_authenticator`` (RFC 3579 3.2, the BlastRADIUS advice);
- ``certs/``: the core's certificate and chain (the server side of EAP-TLS), and ``ca.pem``:
  the device roots, the manufacturer CAs and their CRLs (OpenSSL reads CRLs from the CA file);
- ``dictionary``: the attributes of :mod:`dynsub_cli.aaa.attributes` that FreeRADIUS does
  not know;
- ``certificate.sh``: prints the device certificate as reply attributes (below).

Policy in the virtual server: the EAP identity (the onboarding SUCI NAI,
``type1.rid0.schid0.useridimei-<IMEI>@...``) names an IMEI, and ``check_cert_cn`` requires the
certificate's CN (the IMEI: the device profile, docs/architecture.md section 5) to be that one, so a
device cannot onboard under
another's identity. On Access-Accept the reply carries 3GPP-IMEISV (TS 29.061 16.4.7) and the
whole device certificate: the core records the certificate and its SHA-256 fingerprint, and
FreeRADIUS 3.2 exports neither directly. Its ``verify`` hook writes the client certificate to a
temporary file only while a command runs; that command keeps a copy named after the EAP
identity, which ``certificate.sh`` prints at post-auth and deletes. On Access-Reject the reply
carries the reason FreeRADIUS logged (Module-Failure-Message) in Dynsub-Refusal, so that the
core can tell a revoked certificate from other failures.

The CRLs are copied into ``ca.pem`` when the folder is written: after `dynsub pki crl`, write
the folder again and restart FreeRADIUS.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from dynsub_cli.aaa import attributes as a
from dynsub_cli.config import CoreConfig
from dynsub_cli.errors import BadInput
from dynsub_cli.files import make_private_dir, read_bytes, read_secret, write_atomic, write_secret
from dynsub_cli.pki import pem

#: Where Debian's freeradius package keeps its modules and dictionaries.
DEFAULT_LIBDIR = Path("/usr/lib/freeradius")
DEFAULT_DICTDIR = Path("/usr/share/freeradius")


@dataclass(frozen=True)
class RadiusFolder:
    """What `radius-config` wrote, for the command to report."""

    folder: Path
    host: str
    port: int
    secret_file: Path
    crls: tuple[Path, ...]
    files: tuple[Path, ...] = field(default=())


def write(
    folder: Path,
    core: CoreConfig,
    *,
    host: str,
    port: int,
    secret: bytes,
    client: str = "127.0.0.1",
    reject_delay: int = 1,
    libdir: Path = DEFAULT_LIBDIR,
    dictdir: Path = DEFAULT_DICTDIR,
) -> RadiusFolder:
    """Write the FreeRADIUS folder for ``core``; ``secret`` is the RADIUS shared secret."""
    if not secret or b'"' in secret or b"\\" in secret or not secret.isascii():
        raise BadInput(
            "RADIUS shared secret: FreeRADIUS reads it as a quoted string; use printable "
            "ASCII without quotes or backslashes (dynsub writes 32 hex digits)"
        )
    folder = folder.absolute()
    make_private_dir(folder)
    for sub in ("certs", "log", "run", "tmp", "keep"):
        make_private_dir(folder / sub)
    # Left-overs of a previous run: certificates of exchanges that never reached post-auth.
    for stale in (folder / "keep").iterdir():
        stale.unlink()

    server_chain = [
        *pem.read_certificates(core.pki.core_cert, "core certificate"),
        *pem.read_certificates(core.pki.core_chain, "core chain"),
    ]
    trusted: list[x509.Certificate] = []
    for path in (*core.pki.trust_anchors, *core.pki.manufacturer_cas):
        trusted += pem.read_certificates(path, "trust anchor")
    crls = [pem.read_crl(path) for path in core.pki.crls]
    ca_file = pem.certificate_bytes(trusted) + b"".join(crl.public_bytes(pem.PEM) for crl in crls)
    written = [
        _public(folder / "certs" / "server.pem", pem.certificate_bytes(server_chain)),
        _public(folder / "certs" / "ca.pem", ca_file),
    ]
    # The core's key is not copied: FreeRADIUS reads it where `dynsub pki` keeps it.
    key = core.pki.core_key.absolute()
    read_bytes(key, "core private key")
    written.append(_public(folder / "dictionary", _dictionary(dictdir).encode()))
    script = folder / "certificate.sh"
    write_atomic(script, _CERTIFICATE_SH.encode(), mode=0o700)
    written.append(script)
    clients = folder / "clients.conf"
    write_secret(clients, _clients(client, secret.decode()).encode())
    written.append(clients)
    conf = _radiusd(
        folder,
        host=host,
        port=port,
        key=key,
        check_crl=bool(crls),
        reject_delay=reject_delay,
        libdir=libdir,
    )
    written.append(_public(folder / "radiusd.conf", conf.encode()))
    return RadiusFolder(
        folder, host, port, folder / "clients.conf", tuple(core.pki.crls), tuple(written)
    )


def configure(
    folder: Path,
    core: CoreConfig,
    *,
    listen: tuple[str, int] | None = None,
    reject_delay: int = 1,
) -> RadiusFolder:
    """`dynsub core radius-config`: the folder for ``core``, with its shared secret.

    The address and secret are core.toml's ``[authentication]`` when it names them, so the
    two ends agree; otherwise 127.0.0.1:1812 and a new secret in ``FOLDER/shared-secret``
    (0600), which core.toml's ``authentication.secret_file`` must then name.
    """
    auth = core.authentication
    host, port = listen or (auth.host, auth.port)
    if auth.secret_file is not None:
        secret_file = auth.secret_file
        secret = read_secret(secret_file, "RADIUS shared secret").strip()
    else:
        folder.mkdir(parents=True, exist_ok=True)
        secret_file = folder.absolute() / "shared-secret"
        if secret_file.exists():
            secret = read_secret(secret_file, "RADIUS shared secret").strip()
        else:
            # RFC 2865 3 / RFC 6614 advice: a long random secret (128 bits as hex).
            secret = secrets.token_hex(16).encode()
            make_private_dir(folder)
            write_secret(secret_file, secret + b"\n")
    made = write(folder, core, host=host, port=port, secret=secret, reject_delay=reject_delay)
    return dataclasses.replace(made, secret_file=secret_file)


def _public(path: Path, data: bytes) -> Path:
    write_atomic(path, data)
    return path


def executable() -> str | None:
    """The FreeRADIUS daemon on PATH (Debian names it ``freeradius``, others ``radiusd``)."""
    return shutil.which("freeradius") or shutil.which("radiusd")


def _dictionary(dictdir: Path) -> str:
    lines = [
        "# dynsub's attributes (dynsub_cli/aaa/attributes.py); the rest comes from",
        f"# {dictdir}/dictionary, which FreeRADIUS reads first.",
        "# RFC 3575 / RFC 8044: 224-240 are for implementation-specific use.",
    ]
    for attr in a.IMPLEMENTATION_SPECIFIC:
        lines.append(f"ATTRIBUTE\t{attr.name}\t{attr.code}\t{attr.kind}")
    lines.append("# Internal (never on the wire): the IMEI the EAP identity claims.")
    lines.append(f"ATTRIBUTE\t{CLAIMED_IMEI}\t3100\tstring")
    return "\n".join(lines) + "\n"


CLAIMED_IMEI = "Dynsub-Claimed-IMEI"
#: How the server words a refused identity binding (the client matches it).
IDENTITY_PHRASE = a.IDENTITY_MISMATCH


def _clients(client: str, secret: str) -> str:
    return f"""# The dynsub core, the only RADIUS client (0600: holds the shared secret).
client dynsub-core {{
\tipaddr = {client}
\tsecret = "{secret}"
\t# RFC 3579 3.2 and the BlastRADIUS advice: refuse any Access-Request without it.
\trequire_message_authenticator = yes
\tnas_type = other
\tshortname = dynsub-core
}}
"""


# RFC 2865 5.1 keeps an attribute to 253 octets: the certificate goes in 250-octet pieces
# (500 hex digits), in order, as EAP-Message does (RFC 3579 3.1).
_CERTIFICATE_SH = f"""#!/bin/sh
# Prints the device certificate kept by the EAP-TLS verify hook as reply attributes
# (rlm_exec output_pairs), then deletes the copy. Written by `dynsub core radius-config`.
kept="$1"
[ -f "$kept" ] || exit 0
sed -e '/-----/d' "$kept" | base64 -d | od -An -v -tx1 | tr -d ' \\n' | fold -w 500 \\
  | sed 's/^/{a.DEVICE_CERTIFICATE.name} += 0x/'
rm -f "$kept"
"""


def _radiusd(
    folder: Path,
    *,
    host: str,
    port: int,
    key: Path,
    check_crl: bool,
    reject_delay: int,
    libdir: Path,
) -> str:
    scratch = folder / "tmp"  # FreeRADIUS writes each client certificate here (0700)
    keep = f"{folder}/keep/%{{md5:%{{User-Name}}}}.pem"
    mismatch = (
        "certificate CN %{TLS-Client-Cert-Common-Name} "
        f"{IDENTITY_PHRASE} (%{{control:{CLAIMED_IMEI}}})"
    )
    return f"""# FreeRADIUS 3.2 as the Default Credentials Server of a dynsub core
# (TS 33.501 I.2.2.2.2, I.9.2.3). Written by `dynsub core radius-config`; run it with
#   freeradius -f -d {folder}        (or -X to watch every packet)
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
raddbdir = {folder}
confdir = {folder}
modconfdir = {folder}/mods-config
logdir = {folder}/log
radacctdir = {folder}/log
run_dir = {folder}/run
db_dir = {folder}
libdir = {libdir}
certdir = {folder}/certs
cadir = {folder}/certs
pidfile = {folder}/run/freeradius.pid
name = freeradius
correct_escapes = true
max_request_time = 30
cleanup_delay = 5
max_requests = 16384
hostname_lookups = no
# No user/group lines: FreeRADIUS runs as whoever starts it.

log {{
\tdestination = files
\tfile = {folder}/log/radius.log
\tauth = yes
\tauth_badpass = no
\tauth_goodpass = no
}}

security {{
\tallow_core_dumps = no
\tmax_attributes = 200
\t# Seconds before an Access-Reject leaves (slows guessing); 0 for tests.
\treject_delay = {reject_delay}
\tstatus_server = yes
}}

thread pool {{
\tstart_servers = 4
\tmax_servers = 32
\tmin_spare_servers = 2
\tmax_spare_servers = 8
\tmax_requests_per_server = 0
\tauto_limit_acct = no
}}

$INCLUDE clients.conf

modules {{
\talways reject {{
\t\trcode = reject
\t}}

\t# %{{md5:...}} names the kept certificate after the EAP identity.
\texpr {{
\t}}

\teap {{
\t\tdefault_eap_type = tls
\t\ttimer_expire = 60
\t\tignore_unknown_eap_types = no
\t\tmax_sessions = ${{max_requests}}

\t\ttls-config dynsub {{
\t\t\t# The core's own certificate (operator branch): the UE checks it as it checks
\t\t\t# the built-in AUSF's.
\t\t\tcertificate_file = {folder}/certs/server.pem
\t\t\tprivate_key_file = {key}
\t\t\t# Device roots, manufacturer CAs and their CRLs.
\t\t\tca_file = {folder}/certs/ca.pem
\t\t\tcheck_crl = {"yes" if check_crl else "no"}
\t\t\t# Only the device's issuer is checked: the manufacturer CA's own status would need
\t\t\t# a CRL of the root too.
\t\t\tcheck_all_crl = no
\t\t\t# dynsub's device profile: the device certificate's CN is its IMEI; it must be the one the
\t\t\t# EAP identity (the onboarding SUCI) claims.
\t\t\tcheck_cert_cn = "%{{control:{CLAIMED_IMEI}}}"
\t\t\tcipher_list = "DEFAULT"
\t\t\tcipher_server_preference = yes
\t\t\ttls_min_version = "1.2"
\t\t\ttls_max_version = "1.3"
\t\t\tecdh_curve = ""
\t\t\tcache {{
\t\t\t\tenable = no
\t\t\t}}
\t\t\tverify {{
\t\t\t\ttmpdir = {scratch}
\t\t\t\t# Keep the certificate for the Access-Accept (certificate.sh).
\t\t\t\tclient = "/bin/cp %{{TLS-Client-Cert-Filename}} {keep}"
\t\t\t}}
\t\t}}

\t\ttls {{
\t\t\ttls = dynsub
\t\t}}
\t}}

\texec dynsub_certificate {{
\t\twait = yes
\t\tprogram = "/bin/sh {folder}/certificate.sh {keep}"
\t\tinput_pairs = request
\t\toutput_pairs = reply
\t\tshell_escape = yes
\t\ttimeout = 10
\t}}

\texec dynsub_forget {{
\t\twait = yes
\t\tprogram = "/bin/rm -f {keep}"
\t\tinput_pairs = request
\t\tshell_escape = yes
\t\ttimeout = 10
\t}}
}}

policy {{
}}

server dynsub {{
\tlisten {{
\t\ttype = auth
\t\tipaddr = {host}
\t\tport = {port}
\t}}

\tauthorize {{
\t\t# TS 23.003 2.2B: the onboarding SUCI of an IMEI in its null-scheme NAI form.
\t\tif (&User-Name =~ /^type1\\.rid[0-9]+\\.schid0\\.useridimei-([0-9]{{15}})@/) {{
\t\t\tupdate control {{
\t\t\t\t&{CLAIMED_IMEI} := "%{{1}}"
\t\t\t}}
\t\t}}
\t\teap {{
\t\t\tok = return
\t\t\tupdated = return
\t\t}}
\t\t# Not EAP: nothing else is served here.
\t\treject
\t}}

\tauthenticate {{
\t\teap
\t}}

\tpost-auth {{
\t\tdynsub_certificate
\t\tupdate reply {{
\t\t\t&3GPP-IMEISV := "%{{TLS-Client-Cert-Common-Name}}"
\t\t}}
\t\tPost-Auth-Type REJECT {{
\t\t\tdynsub_forget
\t\t\t# check_cert_cn logs its refusal without a request: say it here.
\t\t\tif (&TLS-Client-Cert-Common-Name && \\
\t\t\t    (&TLS-Client-Cert-Common-Name != &control:{CLAIMED_IMEI})) {{
\t\t\t\tupdate reply {{
\t\t\t\t\t&{a.REFUSAL.name} := "{mismatch}"
\t\t\t\t}}
\t\t\t}}
\t\t\telse {{
\t\t\t\tupdate reply {{
\t\t\t\t\t&{a.REFUSAL.name} := "%{{Module-Failure-Message}}"
\t\t\t\t}}
\t\t\t}}
\t\t\teap
\t\t}}
\t}}
}}
"""


def crl_note(crls: Sequence[Path]) -> str:
    """What a user must do after a new CRL: FreeRADIUS read a copy."""
    if not crls:
        return "no CRL in core.toml: FreeRADIUS does not check revocation"
    return "after `dynsub pki crl`, run radius-config again and restart FreeRADIUS"
