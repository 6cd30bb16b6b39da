"""README stays true: its setup commands, every dynsub command line in it, the trial's output,
and its exit status table."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from dynsub_cli.errors import EXIT_CODE_MEANINGS
from tests import readme_trial
from tests.cli.commandlines import dynsub_invocations, parse_error

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands() -> None:
    blocks = README.split("```sh\n")[1:3]
    assert blocks[0] == (
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && dynsub demo\n```\n"
    )
    assert blocks[1].startswith(
        "scripts/install-test-deps && python3 -m venv .venv && . .venv/bin/activate"
        " && pip install -e '.[dev]' && pytest -q\n```"
    )
    assert "Python 3.11 or newer" in README


def _command_lines() -> list[tuple[str, bool]]:
    """Every line of README that may run dynsub, and whether it is only inline prose."""
    found: list[tuple[str, bool]] = []
    for block in re.findall(r"```(?:sh|console)\n(.*?)```", README, re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            if "dynsub " in line and (line.startswith("$ ") or not line.startswith(("┃", "│"))):
                found.append((line, False))
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    found += [(span, True) for span in re.findall(r"`(dynsub [^`]*)`", prose)]
    return found


def test_every_dynsub_command_line_parses_against_the_cli() -> None:
    lines = _command_lines()
    assert len(lines) > 40
    problems = []
    for line, inline in lines:
        if line.startswith(("ready for service", "registered as", "serve it with:")):
            continue  # output lines that mention dynsub
        for words in dynsub_invocations(line):
            problem = parse_error(words, mention=inline)
            if problem is not None:
                problems.append(f"{line!r}: {problem}")
    assert not problems, "\n".join(problems)


def test_the_checker_can_fail() -> None:
    assert parse_error(["store", "events"]) == "Missing option '--config'."
    assert parse_error(["store", "lst", "--config", "c"]) is not None
    assert parse_error(["store", "events"], mention=True) is None


def test_the_trial_prints_what_readme_shows() -> None:
    # A folder name about as long as README's /tmp/trial, so that tables keep their layout.
    with tempfile.TemporaryDirectory(prefix="trial", dir="/tmp") as tmp:
        folder = Path(tmp)
        results = readme_trial.run(folder)
        assert len(results) >= 8
        for step, printed in results:
            shown = readme_trial.normalise(step.shown, Path("/tmp/trial"))
            assert readme_trial.normalise(printed, folder) == shown, step.command


def test_the_json_error_example_has_the_one_shape() -> None:
    example = README.split("```json\n", 1)[1].split("```", 1)[0]
    assert set(json.loads(example)["error"]) == {"code", "exit_status", "message", "hint", "step"}


def test_every_exit_code_is_in_the_table() -> None:
    for code, meaning in EXIT_CODE_MEANINGS.items():
        assert f"| {int(code)} | {code.name} | {meaning} |" in README
