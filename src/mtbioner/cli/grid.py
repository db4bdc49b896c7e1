"""`mtbioner` verbs of the grid area: learning-curve data of finished runs for `dvc plots`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mtbioner.cli import app


@app.command("curves")
def curves(
    runs: Annotated[list[Path], typer.Argument(help="the seeds' run directories (or metrics.json) of one cell")],
    out: Annotated[Path, typer.Option(help="CSV: epoch and per-task test scores, seed mean")],
) -> None:
    """Per-epoch test scores of one dataset/experiment/fraction, averaged over seeds (dvc plots data)."""
    from mtbioner.curves import write_curves

    epochs = write_curves(runs, out)
    typer.echo(f"wrote {out} ({epochs} epochs)")
