"""The command-line flag of each parameter the layers below name in their errors.

Below ``cli`` an error names the input at fault by its API name, in backquotes (`count`), and
sets ``DynsubError.parameter``: those layers also serve scripts, logs and UEs, which have no
flags. Here, and only here, that name becomes the flag a user of ``dynsub`` types.
"""

from __future__ import annotations

from dynsub_cli.errors import DynsubError

#: parameter -> how to give it on the command line.
FLAGS: dict[str, str] = {
    "billing": "--account or --billing FIELD=VALUE",
    "ca_days": "--ca-days",
    "config": "--config",
    "core_days": "--core-days",
    "count": "--count",
    "days": "--days",
    "devices.roots": "--device-root",
    "first_snr": "--first-snr",
    "force": "--force",
    "listen": "--listen",
    "out": "--out",
    "reveal_secrets": "--reveal-secrets",
    "tac": "--tac",
    "workers": "--workers",
}


def describe(err: DynsubError) -> str:
    """``err.describe()`` with its parameter named by its flag; a message that does not write
    the parameter in backquotes gets the flag after it."""
    return _flagged(err, err.describe())


def message(err: DynsubError) -> str:
    """``err.message`` with its parameter named by its flag, as :func:`describe` does."""
    return _flagged(err, err.message)


def _flagged(err: DynsubError, text: str) -> str:
    flag = FLAGS.get(err.parameter) if err.parameter is not None else None
    if flag is None:
        return text
    marker = f"`{err.parameter}`"
    return text.replace(marker, flag) if marker in text else f"{text} ({flag})"
