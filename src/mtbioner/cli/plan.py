"""`mtbioner cost`: the planning layer's verb — what a configured grid will cost before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mtbioner.cli import app


@app.command("cost")
def cost(
    configfile: Annotated[list[Path], typer.Option(
        help="overlay(s) merged over params.yaml, as snakemake --configfile (e.g. config/cpu.yaml)")] = [],
    root: Annotated[Path, typer.Option(help="the workflow directory (params.yaml, config/)")] = Path("."),
    source: Annotated[str | None, typer.Option(
        help="data.source override: a local corpus mirror to count sentences in before any download")] = None,
    train_throughput: Annotated[float | None, typer.Option(
        help="measured training sentences/s per device (default: the encoder class's declared figure)")] = None,
    eval_throughput: Annotated[float | None, typer.Option(help="measured evaluation sentences/s per device")] = None,
    parallel_jobs: Annotated[int, typer.Option(min=1, help="training jobs running at once (checkpoint disk)")] = 1,
    runs_per_gpu: Annotated[int, typer.Option(
        min=1, help="K training runs packed onto one GPU: adds their GPU-hours beside the unpacked ones")] = 1,
    packed_throughput: Annotated[float | None, typer.Option(
        help="measured aggregate training sentences/s of the K packed runs on one GPU (gpu_check.sh's packing "
             "phase); without it the declared packing efficiency is assumed")] = None,
    packing_efficiency: Annotated[float | None, typer.Option(
        help="assumed aggregate throughput of K packed runs over K x one run's (default: mtbioner.plan.cost's)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of the Markdown table")] = False,
) -> None:
    """Cost of the configured grid before anything runs: runs, optimizer steps, sentence-passes, models kept
    and their disk, device-hours (and packed GPU-hours with --runs-per-gpu)."""
    from mtbioner.plan.cost import PACKING_EFFICIENCY, cost_json, cost_table, grid_cost
    from mtbioner.plan.grid import data_root
    from mtbioner.params import as_params, load_params

    params = as_params(load_params(root, configfile))
    if source is not None:  # the typed parameters are shared: a changed copy
        params = params.model_copy(update={"data": params.data.model_copy(update={"source": source})})
    estimate = grid_cost(params, root / data_root(params), train_throughput, eval_throughput, parallel_jobs,
                         runs_per_gpu, packed_throughput,
                         PACKING_EFFICIENCY if packing_efficiency is None else packing_efficiency)
    typer.echo(cost_json(estimate) if as_json else cost_table(estimate))
