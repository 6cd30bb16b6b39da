"""Man pages generated from the click definitions, so that they cannot drift from the code.

``python -m dynsub_cli.cli.manpages man/`` rewrites man/dynsub.1 and one page per command group
(man/dynsub-pki.1, ...). tests/cli/test_manpages.py fails when the committed pages differ from
what this module generates.
"""

from __future__ import annotations

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
    """Click help text (paragraphs split by blank lines, \\b for verbatim blocks) as roff."""
    out: list[str] = []
    for block in text.strip().split("\n\n"):
        if block.startswith("\b\n"):
            out.append(".nf\n" + _escape(block[2:]) + "\n.fi")
        else:
            out.append(_escape(" ".join(line.strip() for line in block.splitlines())))
    return "\n.PP\n".join(out)


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
    return (
        f'.TH "{name.upper()}" "{SECTION}" "{DATE}" "dynsub {__version__}" "dynsub manual"\n'
        f".SH NAME\n{_escape(name)} \\- {_escape(summary)}"
    )


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
    parts.append(".SH EXIT STATUS")
    for code, meaning in EXIT_CODE_MEANINGS.items():
        parts.append(f".TP\n\\fB{int(code)}\\fR ({code.name})\n{_escape(meaning)}")
    see_also = ", ".join(f"\\fBdynsub\\-{c.info_name}\\fR(1)" for _, c in groups)
    parts.append(f".SH SEE ALSO\n{see_also}")
    return "\n".join(parts) + "\n"


def page_for_group(group: click.Command, ctx: click.Context) -> str:
    name = ctx.command_path.replace(" ", "-")
    parts = [
        _header(name, _summary(group)),
        ".SH DESCRIPTION",
        _paragraphs(group.help or ""),
        ".SH COMMANDS",
    ]
    if isinstance(group, click.Group):
        for cmd, c in _walk(group, ctx):
            parts.append(_command_section(cmd, c))
    else:
        parts.append(_command_section(group, ctx))
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
