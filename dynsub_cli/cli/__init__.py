"""The ``dynsub`` command: one click group per job, and the one place errors become exit codes.

Each command parses its options, calls one function of the layers below, and renders the
result with :mod:`dynsub_cli.cli.render`. Business rules live below ``cli``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
from click.shell_completion import get_completion_class

from dynsub_cli import __version__
from dynsub_cli.cli import flags, render
from dynsub_cli.cli.core import core
from dynsub_cli.cli.crypto import crypto
from dynsub_cli.cli.demo import demo
from dynsub_cli.cli.pki import pki
from dynsub_cli.cli.store import store
from dynsub_cli.cli.ue import ue
from dynsub_cli.errors import DynsubError, ExitCode, Rejected
from dynsub_cli.nas.enums import MmCause


@dataclass
class App:
    """What every command receives through ``ctx.obj``."""

    verbose: bool = False


# ctx.meta is shared by every context of one invocation: the options below note there what
# the catch site needs to know, whichever subcommand they were given to.
_VERBOSE = "dynsub.verbose"
_JSON = "dynsub.json"
_ARGS = "dynsub.args"

#: What to try after the network refused with a 5GMM cause, where the cause alone does not
#: say (the core's refusal table, dynsub_cli/core/refusals.py, is what sends each one).
_CAUSE_HINTS: dict[MmCause, str] = {
    MmCause.SERVICES_5GS_NOT_ALLOWED: (
        "the operator has suspended this subscription (or barred it): on the core, "
        "`dynsub store show SUPI --config DIR/core.toml` shows its state and "
        "`dynsub store resume SUPI --config DIR/core.toml` lifts a suspension"
    ),
    MmCause.ILLEGAL_UE: (
        "the core refused the device's certificate or identity: the core's log, and "
        "`dynsub store events --imei IMEI --config DIR/core.toml`, name the rule"
    ),
    MmCause.ILLEGAL_ME: "the core's enrollment policy blocks this IMEI (enrollment.blocklist)",
    MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN: (
        "the core's enrollment policy refuses this device: "
        "`dynsub store events --imei IMEI --config DIR/core.toml` says why"
    ),
    MmCause.CONGESTION: "the core is busy or a system it relies on did not answer: try again later",
}


def _hint(err: DynsubError) -> str | None:
    if err.hint is not None:
        return err.hint
    if isinstance(err, Rejected) and err.cause in MmCause._value2member_map_:
        return _CAUSE_HINTS.get(MmCause(err.cause))
    return None


class DynsubGroup(click.Group):
    """The root group: the single catch site that maps errors to documented exit codes.

    With ``--json`` a failure also prints one JSON object on stdout, of one shape for every
    command: ``{..., "error": {"code", "exit_status", "message", "hint", "step"}}``.
    """

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
    script = get_completion_class(shell)
    if script is None:  # click knows the three shells of the choice
        raise click.UsageError(f"no completion for {shell}")
    root = ctx.find_root().command
    render.data(script(root, {}, "dynsub", "_DYNSUB_COMPLETE").source())


main.add_command(pki)
main.add_command(core)
main.add_command(ue)
main.add_command(crypto)
main.add_command(store)
main.add_command(demo)
main.add_command(completion)
for _group in main.commands.values():
    _equip(_group)
