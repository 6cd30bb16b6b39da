"""`dynsub ...` command lines in prose (README, man page examples), checked against the real CLI.

A line is split as a shell would (shlex), cut at ``&&``, ``|``, ``;`` and ``&``, redirections
dropped; each piece that runs ``dynsub`` (also inside ``$(...)``) is parsed by click exactly as
the command would parse it, without running it. A path that does not exist here is no error
(the line runs in a trial folder); an unknown option, a missing argument or a bad choice is.
"""

from __future__ import annotations

import re
import shlex

import click

from dynsub_cli.cli import main

_SEPARATORS = {"&&", "||", "|", ";", "&"}
_KEYWORDS = {"do", "then", "else", "time", "exec", "!"}
_REDIRECTION = re.compile(r"^\d?>>?|^<")
_SUBSTITUTION = re.compile(r"\$\((dynsub [^)]*)\)")


def dynsub_invocations(line: str) -> list[list[str]]:
    """The argument lists (after ``dynsub``) of every dynsub command on one shell line."""
    found = [w for inner in _SUBSTITUTION.findall(line) for w in dynsub_invocations(inner)]
    line = _SUBSTITUTION.sub("X", line.removeprefix("$ "))
    lexer = shlex.shlex(line, posix=True, punctuation_chars="&|;")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    pieces: list[list[str]] = [[]]
    target = False  # the word after a bare ">" is where output goes, not an argument
    for token in lexer:
        if target:
            target = False
        elif token in _SEPARATORS:
            pieces.append([])
        elif _REDIRECTION.match(token):
            target = _REDIRECTION.sub("", token) == ""
        else:
            pieces[-1].append(token)
    for words in pieces:
        while words and words[0] in _KEYWORDS:
            words = words[1:]
        if words and words[0] == "dynsub":
            # Prose marks optional parts [--like this] and elisions with "...": one in place of
            # a value stands for it, one at the end for the rest of the line.
            args = [w.strip("[]") for w in words[1:] if w.strip("[]")]
            if args and args[-1] == "...":
                args.pop()
            found.append(["X" if w == "..." else w for w in args])
    return found


def parse_error(words: list[str], *, mention: bool = False) -> str | None:
    """Why click would refuse ``dynsub WORDS``, or None when it parses.

    With ``mention``, a bare command path ("`dynsub store list` shows ...") is accepted: it
    names a command rather than running one.
    """
    command: click.Command = main
    parent: click.Context | None = None
    name = "dynsub"
    rest = list(words)
    try:
        while True:
            if not rest and (mention or isinstance(command, click.Group)):
                return None
            if not isinstance(command, click.Group):
                with command.make_context(name, rest, parent=parent):
                    return None
            ctx = command.make_context(name, rest, parent=parent)
            remaining = [*getattr(ctx, "_protected_args", []), *ctx.args]
            if not remaining:
                return None
            sub = command.commands.get(remaining[0])
            if sub is None:
                return f"no command {remaining[0]!r} in {ctx.command_path}"
            parent, name, command, rest = ctx, remaining[0], sub, remaining[1:]
    except click.MissingParameter as err:
        return err.format_message()
    except click.BadParameter as err:
        if isinstance(err.param, click.Argument | click.Option) and isinstance(
            err.param.type, click.Path | click.File
        ):
            return None  # a path of the trial folder
        return err.format_message()
    except click.UsageError as err:
        return err.format_message()
    except click.exceptions.Exit:
        return None  # --help, --version
