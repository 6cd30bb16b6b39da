"""The ``dynsub`` command: one click group per job, and the one place errors become exit codes.

Each command parses its options, calls one function of the layers below, and renders the
result with :mod:`dynsub_cli.cli.render`. Business rules live below ``cli``.

The command groups are imported when one of them runs, not before (:data:`GROUPS`): a group
pulls in the layers it drives (asyncio, the store, the core, cryptography's X.509 ...), and
``dynsub --version``, ``dynsub --help`` or ``dynsub crypto milenage`` need none of that.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from dynsub_cli import __version__
from dynsub_cli.cli import flags, render
from dynsub_cli.errors import DynsubError, ExitCode, Rejected

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


@dataclass(frozen=True)
class Lazy:
    """A command group known by name before its module is imported."""

    module: str
    attribute: str
    #: The first sentence of the group's docstring, which ``dynsub --help`` lists; a test
    #: (tests/cli/test_root.py) holds the two equal.
    help: str


#: The command groups of ``dynsub``, each imported on first use.
GROUPS: dict[str, Lazy] = {
    "pki": Lazy(
        "dynsub_cli.cli.pki",
        "pki",
        "Factory PKI: CA hierarchy, device certificates in bulk, verify, show, revoke, CRL.",
    ),
    "core": Lazy(
        "dynsub_cli.cli.core",
        "core",
        "Run a local onboarding core: AMF, AUSF (EAP-TLS server), UDM/UDR and provisioning.",
    ),
    "ue": Lazy(
        "dynsub_cli.cli.ue",
        "ue",
        "Act as a UE: onboard with the factory certificate, or register with the subscription.",
    ),
    "crypto": Lazy(
        "dynsub_cli.cli.crypto",
        "crypto",
        "3GPP functions by hand: Milenage, SUCI conceal/deconceal, key derivations.",
    ),
    "store": Lazy(
        "dynsub_cli.cli.store",
        "store",
        "Inspect and manage the subscription store of a core.",
    ),
    "demo": Lazy(
        "dynsub_cli.cli.demo",
        "demo",
        "Run the whole flow at once: PKI, device, core, onboarding, registration.",
    ),
}


class Commands(MutableMapping[str, click.Command]):
    """The root's subcommands: the groups of :data:`GROUPS`, each imported when it is first
    looked up, and commands added as to any click group.

    Iterating gives the names without importing anything; looking a group up (click does it
    for the one being run; man pages, completion and tests walking ``.commands`` do it for
    all) imports it and equips it (:func:`_equip`).
    """

    def __init__(self, lazy: Mapping[str, Lazy]) -> None:
        self._lazy = dict(lazy)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            entry = self._lazy[name]
            group: click.Command = getattr(importlib.import_module(entry.module), entry.attribute)
            _equip(group)
            self._loaded[name] = group
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        _equip(command)
        self._lazy.pop(name, None)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._lazy and name not in self._loaded:
            raise KeyError(name)
        self._lazy.pop(name, None)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._lazy, *self._loaded]))

    def __len__(self) -> int:
        return len(self._lazy.keys() | self._loaded.keys())

    def short_help(self, name: str, limit: int) -> str | None:
        """What ``dynsub --help`` lists for ``name`` (None: hidden), importing no group."""
        entry = self._lazy.get(name)
        # A stand-in with the group's help, shortened as click shortens the group's own.
        command = click.Command(name, help=entry.help) if entry is not None else self[name]
        return None if command.hidden else command.get_short_help_str(limit)


@dataclass
class App:
    """What every command receives through ``ctx.obj``."""

    verbose: bool = False


# ctx.meta is shared by every context of one invocation: the options below note there what
# the catch site needs to know, whichever subcommand they were given to.
_VERBOSE = "dynsub.verbose"
_JSON = "dynsub.json"
_ARGS = "dynsub.args"


def _hint(err: DynsubError) -> str | None:
    if err.hint is not None:
        return err.hint
    if isinstance(err, Rejected):
        from dynsub_cli.cli import causes  # the 5GMM causes: only a refusal needs them

        return causes.hint(err.cause)
    return None


class DynsubGroup(click.Group):
    """The root group: the single catch site that maps errors to documented exit codes.

    With ``--json`` a failure also prints one JSON object on stdout, of one shape for every
    command: ``{..., "error": {"code", "exit_status", "message", "hint", "step"}}``.

    Its commands are the groups of :data:`GROUPS`, imported one by one as they are used.
    """

    commands: Commands

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name, Commands(GROUPS), **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # Kept for a usage error that stops parsing before --json is reached.
        ctx.meta[_ARGS] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DynsubError as err:
            self._report(ctx, err)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            message = "interrupted; work already committed is kept"
            render.error(message)
            self._json(ctx, ExitCode.INTERRUPTED, message, None)
            ctx.exit(ExitCode.INTERRUPTED)
        except click.UsageError as err:
            # click prints the usage and the message on stderr and exits 2.
            self._json(ctx, ExitCode.USAGE, err.format_message(), "see --help")
            raise
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as err:  # a bug: say so, and how to report it
            self._report(ctx, err)
            ctx.exit(ExitCode.INTERNAL)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # As click lists them, with each group's help from GROUPS: --help imports no group.
        rows = self._listing(ctx, width=formatter.width)
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        # The command names, then the root's options, as click completes them, importing no group.
        from click.shell_completion import CompletionItem

        names = [
            CompletionItem(name, help=help)
            for name, help in self._listing(ctx)
            if name.startswith(incomplete)
        ]
        return names + click.Command.shell_complete(self, ctx, incomplete)

    def _listing(self, ctx: click.Context, width: int | None = None) -> list[tuple[str, str]]:
        """(name, short help) of each visible command, the help cut as click cuts it."""
        names = self.list_commands(ctx)
        # click gives the help what is left of the width after the names, or 45 characters.
        limit = 45 if width is None else width - 6 - max(map(len, names), default=0)
        rows = [(name, self.commands.short_help(name, limit)) for name in names]
        return [(name, help) for name, help in rows if help is not None]

    @staticmethod
    def _wants_json(ctx: click.Context) -> bool:
        if ctx.meta.get(_JSON):
            return True
        args = ctx.meta.get(_ARGS, [])
        return "--json" in args[: args.index("--")] if "--" in args else "--json" in args

    def _json(
        self,
        ctx: click.Context,
        code: ExitCode,
        message: str,
        hint: str | None,
        step: str | None = None,
    ) -> None:
        if self._wants_json(ctx):
            render.json_error(
                ctx,
                code=code.name,
                exit_status=int(code),
                message=message,
                hint=hint,
                step=step,
            )

    def _report(self, ctx: click.Context, err: BaseException) -> None:
        app = ctx.find_object(App)
        if ctx.meta.get(_VERBOSE) or (app is not None and app.verbose):
            render.traceback_of(err)
        if isinstance(err, DynsubError):
            hint = _hint(err)
            render.error(flags.describe(err))
            if hint is not None:
                render.hint(hint)
            self._json(ctx, err.exit_code, flags.message(err), hint, err.step)
        else:
            message = (
                f"internal error: {type(err).__name__}: {err} "
                "(a bug in dynsub: rerun with -v and report the traceback)"
            )
            render.error(message)
            self._json(ctx, ExitCode.INTERNAL, message, "rerun with -v and report the traceback")


def _note(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value:
            ctx.meta[key] = True
        return value

    return callback


def _chain(
    first: Callable[[click.Context, click.Parameter, Any], Any],
    then: Callable[[click.Context, click.Parameter, Any], Any] | None,
) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        value = first(ctx, param, value)
        return then(ctx, param, value) if then is not None else value

    return callback


def _equip(command: click.Command) -> None:
    """Every command accepts -v anywhere on the line (every error says "rerun with -v"), and
    every --json option notes that the command's failure is wanted as JSON too.

    Done here, once, over the whole tree, so that a command added to any group gets both.
    """
    for param in command.params:
        if isinstance(param, click.Option) and "--json" in param.opts:
            param.callback = _chain(_note(_JSON), param.callback)
    names = {name for param in command.params for name in param.opts}
    if not names & {"-v", "--verbose"}:
        command.params.append(
            click.Option(
                ["-v", "--verbose"],
                is_flag=True,
                expose_value=False,
                hidden=True,
                callback=_note(_VERBOSE),
                help="On an error, show its traceback too.",
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _equip(sub)


@click.group(cls=DynsubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="On an error, show its traceback too. Accepted anywhere on the line.",
)
@click.version_option(__version__, prog_name="dynsub")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Dynamic subscription generation for IoT UEs in 5G.

    Mint factory device certificates (pki), run a local onboarding core (core), act as a UE
    (ue), inspect the subscription store (store), check 3GPP functions by hand (crypto), or run
    the whole flow at once (demo). Every command that a script would read takes --json.
    """
    ctx.obj = App(verbose=verbose)
    if verbose:
        ctx.meta[_VERBOSE] = True


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (click's shell completion).

    Load it in the current shell with eval "$(dynsub completion bash)", or save it where the
    shell looks for completions: ~/.local/share/bash-completion/completions/dynsub (bash),
    a folder of $fpath as _dynsub (zsh), ~/.config/fish/completions/dynsub.fish (fish).
    """
    from click.shell_completion import get_completion_class

    script = get_completion_class(shell)
    if script is None:  # click knows the three shells of the choice
        raise click.UsageError(f"no completion for {shell}")
    root = ctx.find_root().command
    render.data(script(root, {}, "dynsub", "_DYNSUB_COMPLETE").source())


main.add_command(completion)
