"""Per-epoch checkpoints of a training run: model, optimizer, scheduler, grad scaler, RNG states, history.

A checkpoint is `<run>/checkpoints/epoch-N/` holding `model/` and `state.pt`; the state file is written last
(atomically), so a directory without it is a partial checkpoint and is ignored. Only the newest checkpoint is
kept. Restoring the RNG states makes a resumed run end with the same metrics as an uninterrupted one.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from mtbioner.atomicio import atomic_write
from mtbioner.model.multitask import MultiTaskModel
from mtbioner.run.config import RunConfig
from mtbioner.run.directory import RunFiles

STATE_FILE = "state.pt"


def rng_state() -> dict:
    """The Python, NumPy, torch (and CUDA, where present) random-number generator states."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore the states `rng_state` returned."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def latest_checkpoint(run_dir: Path) -> Path | None:
    """Newest complete checkpoint (its state file is written last, so a directory without it is partial)."""
    root = RunFiles(run_dir).checkpoints
    if not root.is_dir():
        return None
    complete = [path for path in root.glob("epoch-*") if (path / STATE_FILE).is_file()]
    return max(complete, key=lambda path: int(path.name.split("-")[1]), default=None)


def save_checkpoint(run_dir: Path, model: MultiTaskModel, tokenizer: PreTrainedTokenizerBase, optimizer, scheduler,
                    scaler, epoch: int, history: list[dict], config: RunConfig) -> None:
    directory = RunFiles(run_dir).checkpoints / f"epoch-{epoch}"
    model.save_pretrained(directory / "model", tokenizer)
    state = {"epoch": epoch, "history": history, "config": config.to_json_dict(), "rng": rng_state(),
             "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "scaler": scaler.state_dict()}
    with atomic_write(directory / STATE_FILE, "wb") as handle:
        torch.save(state, handle)
    for older in (RunFiles(run_dir).checkpoints).glob("epoch-*"):
        if older != directory:
            shutil.rmtree(older, ignore_errors=True)


def load_state(checkpoint: Path) -> dict:
    """The state `save_checkpoint` wrote into `checkpoint` (an `epoch-N` directory), on the CPU."""
    return torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=False)
