"""core.toml [authentication] and [radius_server]: the EAP server, and dynsub as a DCS."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from dynsub_cli import config
from dynsub_cli.config import EapServerKind
from dynsub_cli.errors import ConfigError
from tests.unit.config.test_core import MINIMAL


def _load(tmp_path: Path, extra: str) -> config.CoreConfig:
    path = tmp_path / "core.toml"
    path.write_text(MINIMAL + extra)
    return config.load(path)


def test_the_builtin_server_is_the_default(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "")
    assert loaded.authentication.server is EapServerKind.BUILTIN
    assert loaded.radius_server is None


def test_radius_with_address_secret_timeout_retries(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        '\n[authentication]\nserver = "radius"\naddress = "10.0.0.7:11812"\n'
        'secret_file = "radius.secret"\ntimeout_seconds = 1.5\nretries = 4\n',
    )
    auth = loaded.authentication
    assert (auth.server, auth.host, auth.port) == (EapServerKind.RADIUS, "10.0.0.7", 11812)
    assert auth.secret_file == tmp_path / "radius.secret"
    assert (auth.timeout_seconds, auth.retries) == (1.5, 4)
    assert tmp_path / "radius.secret" in loaded.secret_files()  # so it must be 0600


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ('server = "diameter"', "one of: builtin, radius"),
        ('server = "radius"', "needs the RADIUS shared secret file"),
        ('address = "10.0.0.7"', "HOST:PORT"),
        ("retries = -1", "0-10"),
        ("timeout = 3", "timeout"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, extra: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as err:
        _load(tmp_path, f"\n[authentication]\n{extra}\n")
    assert "authentication" in err.value.message


def test_radius_server_section(tmp_path: Path) -> None:
    loaded = _load(
        tmp_path,
        '\n[radius_server]\nlisten = "127.0.0.1:1812"\nsecret_file = "dcs.secret"\n'
        'clients = ["127.0.0.1", "10.1.1.1"]\n',
    )
    dcs = loaded.radius_server
    assert dcs is not None
    assert (dcs.host, dcs.port, dcs.clients) == ("127.0.0.1", 1812, ("127.0.0.1", "10.1.1.1"))
    assert tmp_path / "dcs.secret" in loaded.secret_files()


def test_the_sections_survive_a_rewrite(tmp_path: Path) -> None:
    extra = (
        '\n[authentication]\nserver = "radius"\naddress = "127.0.0.1:1812"\n'
        'secret_file = "r.secret"\n\n[radius_server]\nlisten = "127.0.0.1:1813"\n'
        'secret_file = "d.secret"\n'
    )
    loaded = _load(tmp_path, extra)
    again = config.parse(tomllib.loads(config.dumps(loaded, tmp_path)), file="x", base=tmp_path)
    assert again.authentication == loaded.authentication
    assert again.radius_server == loaded.radius_server
