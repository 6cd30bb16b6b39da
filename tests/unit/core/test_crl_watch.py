"""A running core reads its CRLs again when they change, and keeps the last good ones."""

from __future__ import annotations

from pathlib import Path

from dynsub_cli.core.procedure import LogRecord
from dynsub_cli.core.service import CrlWatch
from dynsub_cli.pki import authority, pem, revocation
from tests.flow import make_lab, open_core


def test_a_crl_published_while_serving_is_read_at_the_next_connection(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=2)
    core = open_core(lab)
    crl_path = lab.config().pki.crls[0]
    log: list[LogRecord] = []
    watch = CrlWatch(core.network, [crl_path], log.append)

    before = watch.current()
    assert watch.current() is before, "unchanged files are not read again"
    assert [len(crl) for crl in before.crls] == [0]
    assert log == []

    pki = authority.load(lab.pki)
    revocation.revoke(pki, pem.read_certificate(lab.devices[0] / "device.pem"))
    revocation.write_crl(pki)
    after = watch.current()
    assert [len(crl) for crl in after.crls] == [1]
    assert after.store is before.store
    assert after.credentials is before.credentials
    assert [(r.step, r.outcome) for r in log] == [("crl", "ok")]
    assert "1 revoked certificate(s)" in log[0].message


def test_a_crl_that_no_longer_reads_leaves_the_last_good_one_in_force(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    pki = authority.load(lab.pki)
    revocation.revoke(pki, pem.read_certificate(lab.devices[0] / "device.pem"))
    revocation.write_crl(pki)
    core = open_core(lab)
    crl_path = lab.config().pki.crls[0]
    log: list[LogRecord] = []
    watch = CrlWatch(core.network, [crl_path], log.append)
    assert [len(crl) for crl in watch.current().crls] == [1]

    crl_path.write_bytes(b"-----BEGIN X509 CRL-----\ngarbage\n-----END X509 CRL-----\n")
    assert [len(crl) for crl in watch.current().crls] == [1], "the revocation stays in force"
    crl_path.unlink()
    assert [len(crl) for crl in watch.current().crls] == [1]
    assert [(r.step, r.outcome) for r in log] == [("crl", "failed"), ("crl", "failed")]
    assert "previous CRLs stay in force" in log[0].message
    assert str(crl_path) in log[1].message
