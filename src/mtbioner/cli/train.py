"""`mtbioner` verbs of the train area (registered on the shared app)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer

from mtbioner.cli import app
from mtbioner.errors import MtbionerError


@app.command("train")
def train_command(
    out_dir: Path = typer.Option(..., "--out-dir", help="run directory (created; resumed if it holds a checkpoint)"),
    config: Optional[Path] = typer.Option(None, "--config", help="RunConfig as a JSON file"),
    config_json: Optional[str] = typer.Option(None, "--config-json", help="RunConfig as JSON text"),
    device: Optional[str] = typer.Option(None, "--device",
                                         help="cpu, cuda, cuda:N (default: cuda when available, else cpu)"),
    progress: Optional[bool] = typer.Option(None, "--progress/--no-progress",
                                            help="tqdm bars (default: only on a terminal)"),
) -> None:
    """Train one run (joint / alternating / single-task) and write its run directory."""
    from mtbioner.run.config import RunConfig
    from mtbioner.training.trainer import train_run

    if (config is None) == (config_json is None):
        raise MtbionerError("give exactly one of --config FILE and --config-json TEXT")
    if config is not None:
        if not config.is_file():
            raise MtbionerError(f"{config}: no such config file")
        run_config = RunConfig.from_file(config)
    else:
        run_config = RunConfig.from_json_text(config_json, origin="--config-json")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stderr)
    metrics = train_run(run_config, out_dir, device=device, progress=progress)
    main = metrics.get(run_config.main_task, {})
    score = main.get("f1", main.get("accuracy"))
    typer.echo(json.dumps({"out_dir": str(out_dir), "main_task": run_config.main_task, "score": score}))
