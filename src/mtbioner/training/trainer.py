"""The one trainer: joint, alternating and single-task training of `MultiTaskModel` (SPEC section 4).

- joint (the paper's Algorithm 1): every mini-batch runs all enabled heads; the loss is the weighted sum
  `sum(loss_weights[t] * L_t)`. With a single enabled task the loss is that task's plain cross-entropy
  (a single-task baseline is ordinary fine-tuning, the paper's SOTA*), whatever its weight.
- alternating (MT-DNN, "w/o Joint"): each epoch every enabled task gets its own length-bucketed pass over the
  training set; all tasks' batches are shuffled together and each step back-propagates one task's
  *unweighted* loss, as MT-DNN does (the weights belong to the joint objective).

AdamW (no weight decay on biases and LayerNorm weights), linear warm-up over `warmup_ratio` of all steps then
linear decay to 0, gradient clipping, batches of sentences of similar length (mtbioner.training.batching: random
megabatches of 50 batches sorted by length, batch order shuffled: the same idea as HF's group_by_length) padded
to the batch's longest, bf16/fp16 autocast as `precision` says (mtbioner.model.precision; bf16 also on CPUs with
native bf16). The seed fixes the encoder/head initialisation, the batch order
(a generator seeded by (seed, epoch), so a resumed epoch sees the same batches) and dropout.

After every epoch (`eval_every_epoch`; otherwise after the last epoch only) all enabled tasks are evaluated on
the test set (or its first `max_test_sentences`); each epoch's line (train loss and, when scored, the test
metrics) is added to `epochs.jsonl`. A checkpoint (model, optimizer, scheduler, RNG states, history, the
position inside the epoch) is written to `checkpoints/step-N/` every `checkpoint_every_minutes` of training and
when SIGTERM/SIGUSR1 asks the job to stop (mtbioner.training.checkpoints). A restarted run resumes from the
newest complete checkpoint and ends with the same metrics as an uninterrupted one. When the run is complete the model (if
`save_model`), predictions and `metrics.json` (last) are written and `checkpoints/` is removed.

The tokenizer's casing (`lowercase`, see `mtbioner.model.encoders.decide_lowercase`) is decided when the encoder is
loaded and logged with its reason; `config.json` and the checkpoints record the resolved true/false.

`test_predictions.tsv` has `word<TAB>gold NER<TAB>predicted NER`; a run without the NER head writes `_` as the
prediction (CoNLL's "no value") so the file keeps one format.
"""

from __future__ import annotations

import logging
import math
import random
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from pydantic import ValidationError
from tqdm.auto import tqdm
from transformers import AutoTokenizer

from mtbioner.atomicio import write_json, write_jsonl
from mtbioner.training.batching import epoch_schedule, run_steps
from mtbioner.training.checkpoints import (CheckpointClock, Progress, StopSignals, TrainingStopped, latest_checkpoint,
                                           load_state, save_checkpoint, set_rng_state)
from mtbioner.model.encoders import load_encoder_with_casing, normalizer_lowercases
from mtbioner.errors import MtbionerError
from mtbioner.training.evaluate import evaluate_predictions
from mtbioner.data.examples import Example, read_examples, read_label_file
from mtbioner.model.inference import SentencePrediction, predict
from mtbioner.model.precision import describe, resolve_device
from mtbioner.data.iob import write_iob
from mtbioner.model.multitask import MultiTaskModel
from mtbioner.run.config import RunConfig
from mtbioner.run.directory import RunFiles
from mtbioner.tasks import REGISTRY, ordered
from mtbioner.model.tokenization import Features, encode_examples
from mtbioner.training.step import Optimisation, device_batch, train_step

EVAL_BATCH_SIZE = 64
#: steps between the progress bar's loss readings (each one is a host sync on a GPU)
PROGRESS_LOSS_EVERY = 20

log = logging.getLogger("mtbioner.training.trainer")


# -------------------------------------------------------------------------------------------------- outputs
def write_test_outputs(run_dir: Path, examples: Sequence[Example], predictions: Sequence[SentencePrediction],
                       tasks: Sequence[str]) -> None:
    write_iob(RunFiles(run_dir).predictions,
              ((example.tokens, example.ner, prediction.ner if prediction.ner is not None else ["_"] * len(example.tokens))
               for example, prediction in zip(examples, predictions)))
    rows = []
    sentence_tasks = [task for task in ordered(tasks) if task.level == "sentence"]
    for example, prediction in zip(examples, predictions):
        row: dict = {"id": example.id}
        for task in sentence_tasks:
            row[f"{task.name}_gold"] = task.export(example.gold(task.name))
            row[f"{task.name}_pred"] = task.export(prediction.get(task.name))
        rows.append(row)
    write_jsonl(RunFiles(run_dir).sentences, rows)


def _attach_log(run_dir: Path) -> logging.Handler:
    handler = logging.FileHandler(RunFiles(run_dir).log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def use_deterministic_algorithms() -> None:
    """Bit-identical reruns on GPU (`train.deterministic`): deterministic kernels everywhere, and cuBLAS given
    the fixed workspace it needs for them (set before the first CUDA matmul). Costs GPU speed; see docs/METHOD.md, "Determinism"."""
    import os

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    log.info("deterministic algorithms on (CUBLAS_WORKSPACE_CONFIG=%s)", os.environ["CUBLAS_WORKSPACE_CONFIG"])


def _read_data(config: RunConfig) -> tuple[list[Example], list[Example], list[str]]:
    for key in ("train_file", "test_file", "labels_file"):
        if not Path(getattr(config, key)).is_file():
            raise MtbionerError(f"{key} {getattr(config, key)} does not exist")
    train = read_examples(config.train_file)
    test = read_examples(config.test_file)
    if config.max_test_sentences is not None:
        test = test[:config.max_test_sentences]
    if not train:
        raise MtbionerError(f"{config.train_file}: no training sentences")
    if not test:
        raise MtbionerError(f"{config.test_file}: no test sentences")
    return train, test, read_label_file(config.labels_file)


def _checkpoint_differs(saved: dict, requested: RunConfig, lowercase: bool) -> list[str]:
    """The fields in which a checkpoint's config differs from the requested run, with `lowercase: auto` on
    either side read as the casing the checkpoint's tokenizer has (a run started with `auto` resumes under
    `auto` and under the true/false it resolved to)."""
    try:
        saved_config = RunConfig.model_validate(saved)
    except ValidationError:  # written by an incompatible version: every field may mean something else
        return ["its version"]
    sides = [side.with_settings(lowercase=lowercase) if side.model.lowercase == "auto" else side
             for side in (saved_config, requested)]
    old, new = (side.to_json_dict() for side in sides)
    return sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key) and key not in _NOT_IDENTITY)


#: Settings that do not change what a run computes: a checkpoint written under another value resumes.
_NOT_IDENTITY = frozenset({"checkpoint_every_minutes"})


@dataclass
class _Evaluation:
    metrics: dict
    predictions: list[SentencePrediction]


def _evaluate(session: "_Session", test: Sequence[Example]) -> _Evaluation:
    model = session.model
    predictions = predict(model, session.tokenizer, [example.tokens for example in test], batch_size=EVAL_BATCH_SIZE,
                          device=session.device, progress=bool(session.progress),
                          precision=session.config.train.precision)
    return _Evaluation(evaluate_predictions(test, predictions, model.tasks, model.ner_labels), predictions)


# -------------------------------------------------------------------------------------------------- an epoch
@dataclass
class TrainedStep:
    """One step of `epoch_steps`: its schedule entry's feature indices, the batch it trained on (on the
    device), the back-propagated loss and each task's loss (tensors: no host sync)."""

    indices: list[int]
    batch: dict[str, torch.Tensor]
    loss: torch.Tensor
    losses: dict[str, torch.Tensor]


def epoch_steps(model: MultiTaskModel, features: Sequence[Features], schedule: Iterable[tuple[str | None, list[int]]],
                pad_id: int, device: torch.device, optimisation: Optimisation, *,
                widen: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
                ) -> Iterator[TrainedStep]:
    """The trainer's epoch: the model in training mode, then for each `(task, indices)` of the schedule
    (`epoch_schedule`'s, or what is left of it after a checkpoint) its batch collated onto the device and one
    `train_step`; each step is yielded once done, so the caller keeps the losses, checkpoints or stops between
    steps. The benchmarks and the GPU check run their steps through this function. `widen` changes a batch
    before its step (the GPU check's padding lever); the trainer passes none."""
    model.train()
    for step_task, indices in schedule:
        batch = device_batch(features, indices, pad_id, device)
        if widen is not None:
            batch = widen(batch)
        loss, losses = train_step(model, batch, step_task, optimisation)
        yield TrainedStep(indices, batch, loss, losses)


@dataclass
class StepLosses:
    """The losses of an epoch's steps. They stay tensors until read back (at the epoch's end, or when a
    checkpoint needs them): a per-step `.item()` makes a GPU wait for every step. Read back at once, one
    device-to-host copy a list, and summed in step order as Python floats, the means are the same numbers."""

    done: list[float]  # read back, in step order (a resumed epoch starts with its checkpoint's)
    done_by_task: dict[str, list[float]]
    pending: list[torch.Tensor] = field(default_factory=list)
    pending_by_task: dict[str, list[torch.Tensor]] = field(default_factory=dict)

    @classmethod
    def resumed(cls, tasks: Sequence[str], carried: Progress) -> "StepLosses":
        """The losses of an epoch that starts, or resumes at `carried` (its first steps done already)."""
        return cls(list(carried.step_losses), {task: list(carried.task_losses.get(task, [])) for task in tasks})

    def add(self, loss: torch.Tensor, losses: dict[str, torch.Tensor]) -> None:
        self.pending.append(loss.detach())
        for task, task_loss in losses.items():
            self.pending_by_task.setdefault(task, []).append(task_loss.detach())

    def read_back(self) -> None:
        self.done += _floats(self.pending)
        for task, values in self.pending_by_task.items():
            self.done_by_task.setdefault(task, []).extend(_floats(values))
        self.pending, self.pending_by_task = [], {}


# -------------------------------------------------------------------------------------------------- train
def train_run(config: RunConfig, out_dir: str | Path, device: str | None = None,
              progress: bool | None = None) -> dict:
    """Train one run into `out_dir` (resuming from its checkpoint if any); return the final metrics."""
    run_dir = Path(out_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MtbionerError(f"--out-dir {run_dir}: cannot create the run directory ({error.strerror})") from None
    with suppress(FileNotFoundError):  # never leave a stale "done" marker while (re)training
        RunFiles(run_dir).metrics.unlink()
    handler = _attach_log(run_dir)
    try:
        return _train(config, run_dir, resolve_device(device), progress)
    finally:
        log.removeHandler(handler)
        handler.close()


@dataclass
class _Session:
    """A run being trained: its (resolved) config, model, tokenizer, data, optimisation and what is done so far.
    `_start_or_resume` makes it, `_train_epoch` advances it an epoch, `_finish` writes the run's outputs."""

    config: RunConfig
    files: RunFiles
    device: torch.device
    progress: bool | None
    model: MultiTaskModel
    tokenizer: Any
    test: list[Example]
    features: list[Features]
    optimisation: Optimisation
    history: list[dict] = field(default_factory=list)
    resumed: Progress = field(default_factory=Progress)
    steps_done: int = 0

    @property
    def tasks(self) -> list[str]:
        return list(self.model.tasks)

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0


def _train(config: RunConfig, run_dir: Path, device: torch.device, progress: bool | None) -> dict:
    session = _start_or_resume(config, run_dir, device, progress)
    evaluation: _Evaluation | None = None
    clock = CheckpointClock(session.config.train.checkpoint_every_minutes)
    with StopSignals() as stop:
        for epoch in range(session.resumed.epochs_done + 1, session.config.train.epochs + 1):
            evaluation = _train_epoch(session, epoch, clock, stop)
    return _finish(session, evaluation)


def _restore(config: RunConfig, run_dir: Path, checkpoint: Path) -> tuple[dict, MultiTaskModel, Any, bool]:
    """The checkpoint's state, model, tokenizer and casing, after checking it is one of this configuration."""
    state = load_state(checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint / "model")
    lowercase = normalizer_lowercases(tokenizer)  # the casing the run was started with
    changed = _checkpoint_differs(state["config"], config, lowercase)
    if changed:
        raise MtbionerError(f"{checkpoint}: checkpoint of a different configuration (differs in "
                            f"{', '.join(changed)}); delete {RunFiles(run_dir).checkpoints} to start over")
    model = MultiTaskModel.from_pretrained(checkpoint / "model")
    log.info("resuming %s from %s (%d epochs and %d steps of the next done, lowercase %s as the checkpoint's "
             "tokenizer)", run_dir, checkpoint, state["epoch"], state.get("steps_in_epoch", 0),
             str(lowercase).lower())
    return state, model, tokenizer, lowercase


def _fresh_model(config: RunConfig, train: list[Example], ner_labels: list[str]) -> tuple[MultiTaskModel, Any, bool]:
    """A new model (the run's seed set first: the heads' initialisation draws from it), tokenizer and casing."""
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    settings = config.model
    encoder, tokenizer, casing = load_encoder_with_casing(
        settings.encoder, lowercase=settings.lowercase, vocab_from=[list(ex.tokens) for ex in train],
        seed=config.seed)
    log.info("tokenizer lowercase %s (model.lowercase %s): %s", str(casing.lowercase).lower(),
             str(settings.lowercase).lower(), casing.reason)
    model = MultiTaskModel(encoder, config.tasks, ner_labels, pooling=config.pooling, dropout=settings.dropout,
                           max_length=settings.max_length)
    return model, tokenizer, casing.lowercase


def _start_or_resume(config: RunConfig, run_dir: Path, device: torch.device, progress: bool | None) -> _Session:
    """The run's session at its start, or where its latest checkpoint left it; writes config.json."""
    files = RunFiles(run_dir)
    if config.train.deterministic:
        use_deterministic_algorithms()
    train, test, ner_labels = _read_data(config)
    checkpoint = latest_checkpoint(run_dir)
    state = None
    if checkpoint is not None:
        state, model, tokenizer, lowercase = _restore(config, run_dir, checkpoint)
    else:
        model, tokenizer, lowercase = _fresh_model(config, train, ner_labels)
    if list(model.ner_labels) != list(ner_labels):
        raise MtbionerError(f"{config.labels_file}: NER labels differ from the checkpoint's")
    # config.json (and the checkpoints) hold the resolved casing, so the file alone reproduces the run
    config = config.with_settings(lowercase=lowercase)
    write_json(files.config, config.to_json_dict())
    model.to(device)

    features: list[Features] = encode_examples(train, tokenizer, ner_labels, config.model.max_length, model.tasks)
    total_steps = run_steps(config, len(features))
    optimisation = Optimisation.create(model, config.train, total_steps, device)
    log.info(describe(device, config.train.precision))
    session = _Session(config, files, device, progress, model, tokenizer, test, features, optimisation)
    if state is not None:
        optimisation.optimizer.load_state_dict(state["optimizer"])
        optimisation.scheduler.load_state_dict(state["scheduler"])
        optimisation.scaler.load_state_dict(state["scaler"])
        session.history, session.resumed = list(state["history"]), Progress.from_state(state)
        session.steps_done = int(state["steps_done"])
        set_rng_state(state["rng"])
    else:
        log.info("run %s: %s on %s, %d training sentences (%d inputs after windowing), %d test sentences, "
                 "tasks %s, %s, %d steps on %s", run_dir, config.model.encoder, config.dataset, len(train),
                 len(features), len(test), ",".join(session.tasks), config.strategy, total_steps, device)
    return session


def _train_epoch(session: _Session, epoch: int, clock: CheckpointClock, stop: StopSignals) -> _Evaluation | None:
    """One epoch (or what a checkpoint left of it), checkpointing when due or asked to stop; its record appended
    to the history and epochs.jsonl. Returns the test evaluation when this epoch is scored."""
    config, tasks, optimisation = session.config, session.tasks, session.optimisation
    started = time.perf_counter()
    lengths = [len(feature) for feature in session.features]
    schedule = epoch_schedule(lengths, tasks, config.strategy, config.train.batch_size, config.seed, epoch)
    # A checkpoint inside this epoch: its first steps (and their losses) are done already.
    resumed = session.resumed
    carried = resumed if epoch == resumed.epochs_done + 1 else Progress(epochs_done=epoch - 1)
    losses = StepLosses.resumed(tasks, carried)
    bar = tqdm(schedule[carried.steps_in_epoch:], desc=f"epoch {epoch}/{config.train.epochs}",
               disable=None if session.progress is None else not session.progress, leave=False)
    steps = epoch_steps(session.model, session.features, bar, session.pad_id, session.device, optimisation)
    for step_number, step in enumerate(steps, carried.steps_in_epoch + 1):
        session.steps_done += 1
        losses.add(step.loss, step.losses)
        if not bar.disable and step_number % PROGRESS_LOSS_EVERY == 0:
            bar.set_postfix(loss=f"{step.loss.item():.4f}")
        if stop.received is not None or clock.due():
            losses.read_back()
            where = Progress(epoch - 1, step_number, losses.done, losses.done_by_task,
                             carried.seconds + time.perf_counter() - started)
            written = save_checkpoint(session.files.root, session.model, session.tokenizer, optimisation.optimizer,
                                      optimisation.scheduler, optimisation.scaler, steps_done=session.steps_done,
                                      progress=where, history=session.history, config=config)
            log.info("checkpoint %s (epoch %d, step %d of %d)", written, epoch, step_number, len(schedule))
            clock.restart()
            if stop.received is not None:
                raise TrainingStopped(stop.received, written)
    losses.read_back()
    task_sums = {task: _sum_in_order(losses.done_by_task[task]) for task in tasks}
    task_counts = {task: len(losses.done_by_task[task]) for task in tasks}
    train_seconds = carried.seconds + time.perf_counter() - started
    # Scoring test does not touch the RNGs or the weights, so skipping it on middle epochs leaves the
    # final metrics unchanged (a test checks this); only curve runs need every epoch's scores.
    scored = config.eval_every_epoch or epoch == config.train.epochs
    evaluation = _evaluate(session, session.test) if scored else None
    n_features = len(session.features)
    record = {"epoch": epoch, "train_loss": _sum_in_order(losses.done) / max(len(schedule), 1),
              "train_task_losses": {task: task_sums[task] / task_counts[task] for task in tasks
                                    if task_counts[task]},
              **(evaluation.metrics if evaluation is not None else {}),
              "train_seconds": round(train_seconds, 3),
              "train_sentences_per_second": round(
                  n_features * len(schedule) / max(math.ceil(n_features / config.train.batch_size), 1)
                  / max(train_seconds, 1e-9), 2)}
    session.history.append(record)
    write_jsonl(session.files.epochs, session.history)
    log.info("epoch %d/%d: %s", epoch, config.train.epochs, _summary(record))
    return evaluation


def _finish(session: _Session, evaluation: _Evaluation | None) -> dict:
    """The run's outputs (model if kept, test predictions, metrics.json last); the checkpoints go."""
    files = session.files
    if evaluation is None:  # resumed from the final epoch's checkpoint: only the outputs are missing
        write_jsonl(files.epochs, session.history)
        evaluation = _evaluate(session, session.test)
    if session.config.save_model:
        session.model.save_pretrained(files.model, session.tokenizer)
    else:  # a rerun with train.keep_models changed must not leave an older model looking current
        shutil.rmtree(files.model, ignore_errors=True)
    write_test_outputs(files.root, session.test, evaluation.predictions, session.tasks)
    final = dict(session.history[-1])
    write_json(files.metrics, final)  # last: the run's completion marker
    shutil.rmtree(files.checkpoints, ignore_errors=True)
    log.info("run %s complete", files.root)
    return final


def _floats(values: list[torch.Tensor]) -> list[float]:
    """Scalar tensors read back in one device-to-host copy."""
    return torch.stack(values).tolist() if values else []


def _sum_in_order(values: list[float]) -> float:
    """Floats added one by one in order (what a per-step `total += loss.item()` gives; Python 3.12's `sum()`
    would round differently)."""
    total = 0.0
    for value in values:
        total += value
    return total


def _summary(record: dict) -> str:
    parts = [f"loss {record['train_loss']:.4f}"]
    for task in REGISTRY:  # word-level tasks' F1, sentence-level tasks' accuracy
        if task.name in record:
            metric, shown = ("f1", "F1") if task.level == "word" else ("accuracy", "acc")
            parts.append(f"{task.name} {shown} {record[task.name][metric]:.4f}")
    parts.append(f"{record['train_seconds']:.1f}s")
    return ", ".join(parts)
