"""The ``dynsub`` command: one click group per job, and the one place errors become exit codes.

Each command parses its options, calls one function of the layers below, and renders the
result with :mod:`dynsub_cli.cli.render`. Business rules live below ``cli``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from dynsub_cli import __version__
from dynsub_cli.cli import flags, render
from dynsub_cli.cli.core import core
from dynsub_cli.cli.crypto import crypto
from dynsub_cli.cli.demo import demo
from dynsub_cli.cli.pki import pki
from dynsub_cli.cli.store import store
from dynsub_cli.cli.ue import ue
from dynsub_cli.errors import DynsubError, ExitCode


@dataclass
class App:
    """What every command receives through ``ctx.obj``."""

    verbose: bool = False


class DynsubGroup(click.Group):
    """The root group: the single catch site that maps errors to documented exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DynsubError as err:
            self._report(ctx, err)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            render.error("interrupted; work already committed is kept")
            ctx.exit(ExitCode.INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as err:  # a bug: say so, and how to report it
            self._report(ctx, err)
            ctx.exit(ExitCode.INTERNAL)

    @staticmethod
    def _report(ctx: click.Context, err: BaseException) -> None:
        app = ctx.find_object(App)
        if app is not None and app.verbose:
            render.traceback_of(err)
        if isinstance(err, DynsubError):
            render.error(flags.describe(err))
        else:
            render.error(
                f"internal error: {type(err).__name__}: {err} "
                "(a bug in dynsub: rerun with -v and report the traceback)"
            )


@click.group(cls=DynsubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="On an error, show its traceback too.")
@click.version_option(__version__, prog_name="dynsub")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Dynamic subscription generation for IoT UEs in 5G.

    Mint factory device certificates (pki), run a local onboarding core (core), act as a UE
    (ue), inspect the subscription store (store), check 3GPP functions by hand (crypto), or run
    the whole flow at once (demo). Every command that a script would read takes --json.
    """
    ctx.obj = App(verbose=verbose)


main.add_command(pki)
main.add_command(core)
main.add_command(ue)
main.add_command(crypto)
main.add_command(store)
main.add_command(demo)
