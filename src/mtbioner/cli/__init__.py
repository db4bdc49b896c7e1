"""The `mtbioner` command line: one typer app; each area registers its verbs from cli/<area>.py."""

from __future__ import annotations

import sys

import typer

from mtbioner.errors import MtbionerError

app = typer.Typer(
    name="mtbioner",
    help="Multi-task biomedical NER: data, training, reports, prediction.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Importing the area modules registers their verbs on `app`.
from mtbioner.cli import data as _data  # noqa: E402,F401
from mtbioner.cli import plan as _plan  # noqa: E402,F401
from mtbioner.cli import predict as _predict  # noqa: E402,F401
from mtbioner.cli import report as _report  # noqa: E402,F401
from mtbioner.cli import train as _train  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one `error: ...` line and exit status 2 (or the error's own `exit_code`:
    a training stopped by a signal exits 128 + its number), never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
        if argv is None:  # the `mtbioner` process itself (a library caller passes argv and keeps its interpreter)
            _exit_without_teardown()
    except MtbionerError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(getattr(error, "exit_code", 2)) from None
    except (typer.Exit, SystemExit) as stop:
        raise SystemExit(getattr(stop, "exit_code", getattr(stop, "code", 0))) from None
    except Exception as error:  # usage errors arrive here in non-standalone mode
        if _is_usage_error(error):  # the usage line, a hint and one `Error: ...` line; status 2
            error.show()
            raise SystemExit(error.exit_code) from None
        if _is_abort(error):
            raise SystemExit(130) from None
        raise


def _is_usage_error(error: Exception) -> bool:
    """A command-line mistake as typer raises it: typer >= 0.2x carries its own copy of click
    (typer._click, whose exceptions derive from typer.exceptions.TyperException), older ones click's."""
    import click
    from typer.exceptions import TyperException

    return isinstance(error, (click.ClickException, TyperException)) and hasattr(error, "show")


def _is_abort(error: Exception) -> bool:
    import click
    from typer import exceptions

    return isinstance(error, (click.exceptions.Abort, getattr(exceptions, "Abort", click.exceptions.Abort)))


def _exit_without_teardown() -> None:
    """End a finished command's process at once (status 0), skipping the interpreter's teardown: freeing torch's
    and transformers' modules took 1-2.5 s of every training job on a 2-core machine, after its last output
    was written (benchmarks/startup.py, "exit"). Every output is written and closed by then (mtbioner.atomicio);
    what teardown would still do by itself is flushing the log handlers and the standard streams, done here."""
    import logging
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing left to deliver
            pass
    os._exit(0)
