"""Man pages generated from the click definitions, so that they cannot drift from the code.

``python -m dynsub_cli.cli.manpages man/`` rewrites man/dynsub.1 and one page per command group
(man/dynsub-pki.1, ...). tests/cli/test_manpages.py fails when the committed pages differ from
what this module generates.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import click

from dynsub_cli import __version__
from dynsub_cli.errors import EXIT_CODE_MEANINGS

SECTION = "1"
DATE = "2026"


def _escape(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.splitlines():
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _paragraphs(text: str) -> str:
    """Click help text (paragraphs split by blank lines, \\b for verbatim blocks) as roff.

    A verbatim block whose lines are columns (two or more spaces apart) is a table (tbl).
    """
    out: list[str] = []
    for block in inspect.cleandoc(text).split("\n\n"):
        if block.startswith("\b\n"):
            out.append(_verbatim(block[2:]))
        else:
            out.append(_escape(" ".join(line.strip() for line in block.splitlines())))
    return "\n.PP\n".join(out)


def _verbatim(block: str) -> str:
    rows = [re.split(r"\s{2,}", line.strip()) for line in block.splitlines() if line.strip()]
    if len(rows) > 1 and all(len(row) == len(rows[0]) > 1 for row in rows):
        # The last column is a text block (T{ T}) of its own width, so that it wraps within
        # an 80-column terminal instead of widening the table past it.
        layout = " ".join(["lB", *["l"] * (len(rows[0]) - 2), "lw(18)"]) + "."
        body = "\n".join(
            "\t".join([*(_escape(cell) for cell in row[:-1]), f"T{{\n{_escape(row[-1])}\nT}}"])
            for row in rows
        )
        return f".TS\n{layout}\n{body}\n.TE"
    return ".nf\n" + _escape(block) + "\n.fi"


def _options(command: click.Command, ctx: click.Context) -> str:
    out: list[str] = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        out.append(f".TP\n\\fB{_escape(names)}\\fR\n{_escape(help_text)}")
    return "\n".join(out)


def _usage(command: click.Command, ctx: click.Context) -> str:
    pieces = command.collect_usage_pieces(ctx)
    return f"\\fB{_escape(ctx.command_path)}\\fR " + _escape(" ".join(pieces))


def _command_section(command: click.Command, ctx: click.Context) -> str:
    parts = [
        f'.SS "{_escape(ctx.command_path)}"',
        _usage(command, ctx),
        ".PP",
        _paragraphs(command.help or ""),
    ]
    options = _options(command, ctx)
    if options:
        parts += [".PP\nOptions:", options]
    return "\n".join(parts)


def _walk(group: click.Group, ctx: click.Context) -> list[tuple[click.Command, click.Context]]:
    found: list[tuple[click.Command, click.Context]] = []
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        sub_ctx = click.Context(sub, info_name=name, parent=ctx)
        found.append((sub, sub_ctx))
        if isinstance(sub, click.Group):
            found += _walk(sub, sub_ctx)
    return found


def _summary(command: click.Command) -> str:
    """The first paragraph of the help, whole (the NAME line of a man page is not cut)."""
    first = (command.help or "").strip().split("\n\n")[0]
    return " ".join(first.split()).rstrip(".")


def _header(name: str, summary: str) -> str:
    # The first line asks man(1) to run tbl, for the tables of verbatim help blocks.
    return (
        "'\\\" t\n"
        f'.TH "{name.upper()}" "{SECTION}" "{DATE}" "dynsub {__version__}" "dynsub manual"\n'
        # Left-aligned, no hyphenation: command lines and paths stay as typed.
        ".ad l\n.nh\n"
        f".SH NAME\n{_escape(name)} \\- {_escape(summary)}"
    )


#: Command lines worth copying, per page: (what it does, the command).
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "dynsub": [
        ("Run the whole flow once, in a new temporary folder:", "dynsub demo"),
        (
            "A trial by hand: a PKI, three devices, a core, one onboarding:",
            "dynsub pki init pki && dynsub pki mint --pki pki --out devices --count 3\n"
            "dynsub core init core --pki pki\n"
            "dynsub core serve --config core/core.toml 2>core.log &\n"
            "dynsub ue onboard --device devices/001001000000007 --core 127.0.0.1:38412",
        ),
        ("A failure as JSON, for a script:", "dynsub store list --config core/core.toml --json"),
        ("Shell completion for bash:", 'eval "$(dynsub completion bash)"'),
    ],
    "pki": [
        (
            "A PKI and 10000 devices:",
            "dynsub pki init pki --mcc 001 --mnc 01\n"
            "dynsub pki mint --pki pki --out devices --count 10000",
        ),
        (
            "Check a device certificate, revocation included:",
            "dynsub pki crl --pki pki --out crl.pem\n"
            "dynsub pki verify devices/001001000000007/device.pem --pki pki --crl crl.pem",
        ),
        (
            "Revoke a device and publish the CRL a core reads:",
            "dynsub pki revoke --pki pki devices/001001000000007/device.pem\n"
            "dynsub pki crl --pki pki --out pki/crl.pem",
        ),
    ],
    "core": [
        (
            "Set up a core for the devices of a PKI, and serve it with its log in a file:",
            "dynsub core init core --pki pki\n"
            "dynsub core serve --config core/core.toml 2>core.log &",
        ),
        ("Stop the background core (it exits 0):", "kill %1"),
    ],
    "ue": [
        (
            "Onboard a device, then register again later:",
            "dynsub ue onboard --device devices/001001000000007 --core 127.0.0.1:38412\n"
            "dynsub ue register --state devices/001001000000007/ue-state.toml "
            "--core 127.0.0.1:38412",
        ),
        (
            "Onboard with a plan that needs billing information:",
            "dynsub ue onboard --device devices/001001000000015 --core 127.0.0.1:38412 "
            "--plan metered --account A-17",
        ),
    ],
    "store": [
        (
            "List, then show one record:",
            "dynsub store list --config core/core.toml\n"
            "dynsub store show imsi-001010000000001 --config core/core.toml",
        ),
        (
            "Page through a large store, 100 at a time (the last SUPI of a page is the next "
            "page's --after):",
            "dynsub store list --config core/core.toml --limit 100\n"
            "dynsub store list --config core/core.toml --limit 100 --after imsi-001010000000100",
        ),
        (
            "The audit trail of one device, then the whole trail as JSON:",
            "dynsub store events --config core/core.toml --imei 001001000000007\n"
            "dynsub store events --config core/core.toml --all --json > events.json",
        ),
        (
            "Subscriber documents for Open5GS (K and OPc in clear: keep the file private):",
            "dynsub store export --config core/core.toml --format open5gs --reveal-secrets "
            "--out open5gs.json",
        ),
    ],
    "crypto": [
        (
            "Milenage with the first test set of TS 35.208:",
            "dynsub crypto milenage --k 465b5ce8b199b49faa5f0a2ee238a6bc "
            "--op cdc202d5123e20f62b6d676ac72cb318 --rand 23553cbe9637a89d218ae64dae47bf35 "
            "--sqn ff9bb4d0b607 --amf b9b9",
        ),
        ("A home network key pair for SUCI Profile A:", "dynsub crypto keygen --profile a"),
    ],
    "demo": [
        (
            "The whole flow in a folder kept for later, as JSON:",
            "dynsub demo --workdir trial --json",
        ),
    ],
    "completion": [
        (
            "Completion for the current bash session, and for every new one:",
            'eval "$(dynsub completion bash)"\n'
            "dynsub completion bash > ~/.local/share/bash-completion/completions/dynsub",
        ),
        (
            "zsh and fish:",
            'dynsub completion zsh > "${fpath[1]}/_dynsub"\n'
            "dynsub completion fish > ~/.config/fish/completions/dynsub.fish",
        ),
    ],
}

#: The files dynsub reads and writes, on every page.
FILES: list[tuple[str, str]] = [
    ("PKI/pki.toml", "The PKI made by dynsub pki init: its CAs, keys (0600) and core certificate."),
    ("PKI/ledger.sqlite", "Every IMEI ever minted from the PKI; a range already used is refused."),
    ("OUT/IMEI/", "A minted device: device.pem, device.key (0600), chain.pem, trust.pem."),
    ("OUT/manifest-RUN.csv, .json", "What one minting run wrote."),
    ("DIR/core.toml", "A core's configuration (dynsub core init): identity, PKI, store, policy."),
    ("DIR/subscriptions.sqlite", "The subscription store and its audit trail (SQLite)."),
    ("DIR/secrets/", "The core's secrets (0600): OP, SUCI home network keys, the store key."),
    ("DEVDIR/ue-state.toml", "A UE's state after onboarding (0600): SUPI, K, OPc, SQN."),
]


def _examples(page: str) -> str:
    parts = [".SH EXAMPLES"]
    for what, command in EXAMPLES.get(page, []):
        parts.append(f".PP\n{_escape(what)}\n.PP\n.RS 4\n.nf\n{_escape(command)}\n.fi\n.RE")
    return "\n".join(parts)


def _files() -> str:
    parts = [".SH FILES"]
    for name, what in FILES:
        parts.append(f".TP\n\\fI{_escape(name)}\\fR\n{_escape(what)}")
    return "\n".join(parts)


def _exit_status() -> str:
    parts = [".SH EXIT STATUS"]
    for code, meaning in EXIT_CODE_MEANINGS.items():
        parts.append(f".TP\n\\fB{int(code)}\\fR ({code.name})\n{_escape(meaning)}")
    return "\n".join(parts)


def _synopsis(command: click.Command, ctx: click.Context) -> str:
    if not isinstance(command, click.Group):
        return f".SH SYNOPSIS\n{_usage(command, ctx)}"
    lines = [_usage(cmd, c) for cmd, c in _walk(command, ctx) if not isinstance(cmd, click.Group)]
    return ".SH SYNOPSIS\n" + "\n.br\n".join(lines)


def page_for_root(root: click.Group) -> str:
    ctx = _root_context(root)
    groups = [(cmd, c) for cmd, c in _walk(root, ctx) if c.parent is ctx]
    parts = [
        _header("dynsub", _summary(root)),
        ".SH SYNOPSIS",
        _usage(root, ctx),
        ".SH DESCRIPTION",
        _paragraphs(root.help or ""),
        ".SH OPTIONS",
        _options(root, ctx),
        ".SH COMMANDS",
    ]
    for cmd, c in groups:
        parts.append(f".TP\n\\fB{_escape(c.command_path)}\\fR\n{_escape(_summary(cmd))}.")
    parts += [_examples("dynsub"), _files(), _exit_status()]
    see_also = ", ".join(f"\\fBdynsub\\-{c.info_name}\\fR(1)" for _, c in groups)
    parts.append(f".SH SEE ALSO\n{see_also}")
    return "\n".join(parts) + "\n"


def page_for_group(group: click.Command, ctx: click.Context) -> str:
    name = ctx.command_path.replace(" ", "-")
    parts = [
        _header(name, _summary(group)),
        _synopsis(group, ctx),
        ".SH DESCRIPTION",
        _paragraphs(group.help or ""),
        ".SH COMMANDS",
    ]
    if isinstance(group, click.Group):
        for cmd, c in _walk(group, ctx):
            parts.append(_command_section(cmd, c))
    else:
        parts.append(_command_section(group, ctx))
    parts += [_examples(str(ctx.info_name)), _files(), _exit_status()]
    parts.append(".SH SEE ALSO\n\\fBdynsub\\fR(1)")
    return "\n".join(parts) + "\n"


def _root_context(root: click.Group) -> click.Context:
    # The root's context settings (-h as well as --help) reach every subcommand, as when the
    # command runs; click caches each command's help option, so the pages must agree with it.
    return click.Context(root, info_name="dynsub", **root.context_settings)


def render_all(root: click.Group) -> dict[str, str]:
    """File name -> page text for the root command and each of its direct subcommands."""
    ctx = _root_context(root)
    pages = {"dynsub.1": page_for_root(root)}
    for name in root.list_commands(ctx):
        cmd = root.get_command(ctx, name)
        if cmd is None or cmd.hidden:
            continue
        sub_ctx = click.Context(cmd, info_name=name, parent=ctx)
        pages[f"dynsub-{name}.1"] = page_for_group(cmd, sub_ctx)
    return pages


def write_all(folder: Path) -> list[Path]:
    from dynsub_cli.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all(main).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "man")):
        sys.stdout.write(f"{path}\n")
