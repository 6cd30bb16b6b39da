"""README's "A trial by hand", run for real: each ``$ command`` in a fresh folder, its output
compared with what README shows (after the parts that change from run to run are blanked).

``python -m tests.readme_trial /tmp/trial`` (an empty folder) prints the block as this machine
runs it now, to paste into README when the output changes on purpose.

The commands run as a user types them: through bash, in the folder, with the venv's
``dynsub`` first on PATH, in a terminal of 120 columns (rich is told it is a terminal that does
not animate: TTY_COMPATIBLE=1, TTY_INTERACTIVE=0). The core serves on a free port instead of
README's 38412, so the test cannot collide with a core already running.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
PORT = "38412"
HANG = 120.0
_BLOCK = re.compile(r"## A trial by hand\n.*?```console\n(.*?)```", re.S)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_RUN = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


@dataclass(frozen=True)
class Step:
    command: str
    shown: list[str]  # the output README shows under it


def steps(readme: str | None = None) -> list[Step]:
    match = _BLOCK.search(readme if readme is not None else README.read_text(encoding="utf-8"))
    if match is None:
        raise AssertionError('README has no ```console block under "## A trial by hand"')
    found: list[Step] = []
    for line in match.group(1).splitlines():
        if line.startswith("$ "):
            found.append(Step(line[2:], []))
        elif found:
            found[-1].shown.append(line)
    return found


def normalise(lines: list[str], folder: Path) -> list[str]:
    """What must agree: the words, not the times, counts of milliseconds, paths or widths."""
    out = []
    for line in lines:
        line = _ANSI.sub("", line).replace(str(folder), "/tmp/trial")
        line = _RUN.sub("RUN", line)
        line = re.sub(r"\d+", "0", line)
        line = re.sub(r"\s+", " ", re.sub(r"[─━]+", "─", line)).strip()
        if line:
            out.append(line)
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(folder: Path) -> list[tuple[Step, list[str]]]:
    """Run every step in ``folder``; returns each step with the output it printed."""
    port = str(_free_port())
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "TTY_COMPATIBLE": "1",
        "TTY_INTERACTIVE": "0",
        "NO_COLOR": "1",
        "COLUMNS": "120",
        "PYTHONIOENCODING": "utf-8",
    }
    results: list[tuple[Step, list[str]]] = []
    background: list[subprocess.Popen[str]] = []
    try:
        for step in steps():
            command = step.command.replace(PORT, port)
            if command.endswith("&"):
                process = subprocess.Popen(
                    ["bash", "-c", "exec " + command.removesuffix("&")],
                    cwd=folder,
                    env=env,
                    text=True,
                )
                background.append(process)
                _wait_listening(folder, process)
                results.append((step, []))
                continue
            if command.startswith("kill "):
                # `kill %1` in the user's shell: SIGTERM, after which the core exits 0.
                for process in background:
                    process.send_signal(signal.SIGTERM)
                    if process.wait(timeout=HANG) != 0:
                        raise AssertionError(f"the core exited {process.returncode} on SIGTERM")
                background.clear()
                results.append((step, []))
                continue
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=HANG,
                check=False,
            )
            if done.returncode != 0:
                raise AssertionError(f"{command}: exit {done.returncode}\n{done.stderr}")
            printed = (done.stderr + done.stdout).splitlines()
            results.append((step, [line.replace(port, PORT) for line in printed]))
            if command.startswith("dynsub core init "):
                toml = folder / shlex.split(command)[3] / "core.toml"
                toml.write_text(toml.read_text().replace(f"port = {PORT}", f"port = {port}"))
    finally:
        for process in background:
            process.kill()
            process.wait(timeout=HANG)
    return results


def _wait_listening(folder: Path, process: subprocess.Popen[str]) -> None:
    log = folder / "core.log"
    deadline = time.monotonic() + HANG
    while not (log.is_file() and "listening on" in log.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            text = log.read_text() if log.is_file() else ""
            raise AssertionError(f"the core did not start: {text}")
        time.sleep(0.05)


def main(folder: Path) -> None:
    for step, printed in run(folder):
        sys.stdout.write(f"$ {step.command}\n")
        for line in printed:
            sys.stdout.write(_ANSI.sub("", line).rstrip() + "\n")


if __name__ == "__main__":
    # An empty folder to run in: README shows /tmp/trial, so its tables have that width.
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
