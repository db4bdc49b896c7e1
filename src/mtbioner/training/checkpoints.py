"""Checkpoints of a training run, written by time and when the job is told to stop: model, optimizer,
scheduler, grad scaler, RNG states, history, and where in its epoch the run stands.

Policy (`train.checkpoint_every_minutes`, `CheckpointClock`): a checkpoint after the optimizer step at which
that many minutes of training have passed since the run (re)started or since the last checkpoint, and one at
once when the process receives SIGTERM or SIGUSR1 (`StopSignals`): SLURM sends SIGTERM at the time limit
and, asked with `--signal=TERM@<seconds>` (the SLURM profiles do), that many seconds before it. The run
then exits with status 128 + the signal (`TrainingStopped`), and the same command resumes it. Per-epoch
checkpoints are gone: a 10 % epoch of a GPU job lasts seconds, and writing ~1.3 GB of BioBERT + AdamW state
after each would have cost the paper grid ~18,000 writes (`mtbioner cost` counts the writes of this policy).

A checkpoint is `<run>/checkpoints/step-N/` (N = optimizer steps done) holding `model/` and `state.pt`; the
state file is written last (atomically), so a directory without it is partial and ignored. Only the newest
is kept. It records the epochs done, the steps done in the epoch under way and that epoch's step losses so
far: the epoch's batch order is a function of (seed, epoch) (`mtbioner.training.batching.epoch_schedule`),
so a resumed run skips the steps done, restores the RNG states (dropout) and ends with the same metrics and
predictions as an uninterrupted one.
"""

from __future__ import annotations

import random
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from mtbioner.atomicio import atomic_write
from mtbioner.errors import MtbionerError
from mtbioner.model.multitask import MultiTaskModel
from mtbioner.run.config import RunConfig
from mtbioner.run.directory import RunFiles

STATE_FILE = "state.pt"
_PREFIX = "step-"
#: The signals that ask a training to checkpoint and stop (SLURM's time-limit SIGTERM; SIGUSR1 for
#: `--signal=USR1@...` setups that keep SIGTERM for the final kill).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class TrainingStopped(MtbionerError):
    """The run was asked to stop by a signal, wrote a checkpoint and exits with 128 + the signal's number."""

    def __init__(self, signum: int, checkpoint: Path) -> None:
        self.exit_code = 128 + signum
        super().__init__(f"stopped by {signal.Signals(signum).name}: checkpoint {checkpoint} written; run the same "
                         "command again to resume from it")


@dataclass
class Progress:
    """Where a run stands: `epochs_done` complete epochs, `steps_in_epoch` steps of the next one, the losses of
    those steps (floats, in step order: the epoch's mean is summed from them) and its training seconds."""

    epochs_done: int = 0
    steps_in_epoch: int = 0
    step_losses: list[float] = field(default_factory=list)
    task_losses: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_state(self) -> dict:
        return {"epoch": self.epochs_done, "steps_in_epoch": self.steps_in_epoch, "step_losses": self.step_losses,
                "task_losses": self.task_losses, "epoch_seconds": self.seconds}

    @classmethod
    def from_state(cls, state: dict) -> "Progress":
        return cls(int(state["epoch"]), int(state.get("steps_in_epoch", 0)), list(state.get("step_losses", [])),
                   {task: list(values) for task, values in state.get("task_losses", {}).items()},
                   float(state.get("epoch_seconds", 0.0)))


class CheckpointClock:
    """Whether a checkpoint is due: `minutes` of wall time since the clock (re)started; None = never by time."""

    def __init__(self, minutes: float | None) -> None:
        self.seconds = None if minutes is None else 60.0 * minutes
        self.restart()

    def restart(self) -> None:
        self.started = time.monotonic()

    def due(self) -> bool:
        return self.seconds is not None and time.monotonic() - self.started >= self.seconds


class StopSignals:
    """While active (a context manager), SIGTERM / SIGUSR1 only record that a stop was asked for; the trainer
    checks `received` after each optimizer step, checkpoints and stops. Outside the main thread (a library
    caller's worker) signals cannot be caught, and nothing is installed."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:  # noqa: ANN001 (signal handler signature)
        self.received = signum

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


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


def _steps(path: Path) -> int:
    return int(path.name[len(_PREFIX):])


def latest_checkpoint(run_dir: Path) -> Path | None:
    """Newest complete checkpoint (its state file is written last, so a directory without it is partial)."""
    root = RunFiles(run_dir).checkpoints
    if not root.is_dir():
        return None
    complete = [path for path in root.glob(f"{_PREFIX}*") if path.name[len(_PREFIX):].isdigit()
                and (path / STATE_FILE).is_file()]
    return max(complete, key=_steps, default=None)


def save_checkpoint(run_dir: Path, model: MultiTaskModel, tokenizer: PreTrainedTokenizerBase, optimizer, scheduler,
                    scaler, *, steps_done: int, progress: Progress, history: list[dict],
                    config: RunConfig) -> Path:
    """Write `checkpoints/step-<steps_done>/` (model, then the state file last) and remove older ones."""
    directory = RunFiles(run_dir).checkpoints / f"{_PREFIX}{steps_done}"
    model.save_pretrained(directory / "model", tokenizer)
    state = {**progress.to_state(), "steps_done": steps_done, "history": history, "config": config.to_json_dict(),
             "rng": rng_state(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "scaler": scaler.state_dict()}
    with atomic_write(directory / STATE_FILE, "wb") as handle:
        torch.save(state, handle)
    for older in RunFiles(run_dir).checkpoints.iterdir():
        if older != directory:
            shutil.rmtree(older, ignore_errors=True)
    return directory


def load_state(checkpoint: Path) -> dict:
    """The state `save_checkpoint` wrote into `checkpoint` (a `step-N` directory), on the CPU."""
    return torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=False)
