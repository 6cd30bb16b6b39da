"""README stays true: its setup commands, and its exit status table."""

from __future__ import annotations

from pathlib import Path

from dynsub_cli.errors import EXIT_CODE_MEANINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands() -> None:
    blocks = README.split("```sh\n")[1:3]
    assert blocks[0].startswith(
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && dynsub demo\n"
    )
    assert blocks[1].startswith(
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest -q\n"
    )


def test_every_exit_code_is_in_the_table() -> None:
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"| {int(code)} | {code.name} | {meaning} |" in README
