"""GPU check: what one training run of the paper preset does with a GPU, what K runs packed on it do, and what
the paper preset then costs in GPU-hours. One command, offline, within 8 minutes, phase by phase.

Phases (each one's result is written to `--out` as soon as it ends, atomically; a phase that fails records
its error and the others still run; see benchmarks/README.md, "GPU check", for the JSON):

- `environment`: device, GPU, torch / transformers / CUDA versions, the GPU's peak dense FLOP/s (bf16 tensor
  cores and plain fp32, NVIDIA's data sheets, `PEAK_FLOPS`) and whether TF32 is on.
- `data`: BC2GM (train ∪ devel, its first `--bc2gm-sentences`) tokenised by a WordPiece tokenizer built from it
  (`mtbioner.model.encoders.build_wordpiece_tokenizer`: the hub is unreachable there) and encoded as the
  trainer does (`encode_examples`): the realistic sentence lengths every later phase trains on.
- `matmul`: the ceiling a matrix product reaches here in the same command: a large square torch.matmul and
  one of the step's own shape (tokens of a batch × hidden → intermediate), bf16 and fp32, CUDA events.
- `step`: a randomly initialised encoder of BioBERT v1.1's shape (12 layers, hidden 768, 12 heads,
  intermediate 3072, vocabulary 28,996) in `MultiTaskModel` with all four heads, trained by the trainer's
  loop body: length-bucketed batches (`epoch_schedule`), the trainer's `device_batch` and `train_step` with
  `Optimisation.create` (the paper preset's BC2GM settings), the losses kept on the device and read back once
  a window (the trainer reads them once an epoch). fp32 and bf16 autocast; the median of `--windows` windows of `--steps` steps, timed with
  CUDA events. MFU = 6 · matrix-product parameters · real tokens/s over the peak of that precision, the
  parameters counted from the model (the linear layers that see every token: not the embeddings, which are
  a lookup, nor the pooler or sentence heads, which see one vector a sentence), and the same FLOP/s over
  the `matmul` ceilings.
- `eval`: the trainer's evaluation path (`mtbioner.model.inference.predict`, batch 64) on BC2GM sentences.
- `levers`: cheap per-step changes, each against the trainer's step as is: `fused_adamw` (AdamW(fused=True)),
  `pad_to_8` (batch width padded to a multiple of 8), `no_forward_sync` (the model's losses without the
  `.any()` host sync in `MultiTaskModel.compute_losses`), and all (the trainer reads no loss per step).
- `ncbi`: one NCBI-disease epoch of MiniLM (`--ncbi-encoder`) through the real trainer (`train_run`) with the
  paper preset's NCBI-disease settings, and its test NER F1.
- `packing`: K = `--pack` (1, 2, 4, 8) concurrent trainings on the one GPU, each a separate process running
  the trainer's loop body for `--pack-seconds`: aggregate sentences/s and each process's peak memory
  (torch.cuda.max_memory_allocated).
- `estimate`: the paper preset's GPU-hours through `mtbioner.plan.cost` at the measured throughputs
  (training from `step`, evaluation from `eval`), unpacked and at the best K of `packing`, and the
  `mtbioner cost` command that reproduces them.

`--skip-cuda` runs it all on the CPU (fp32 only, perf_counter instead of CUDA events; the test does this with
a tiny shape and step count).

    bash benchmarks/gpu_check.sh                      # on a machine with one CUDA GPU
    python benchmarks/gpu_check.py --skip-cuda --layers 2 --hidden-size 64 --heads 2 --intermediate-size 128 \\
        --steps 2 --windows 2 --bc2gm-sentences 64 --ncbi-sentences 24 --ncbi-encoder tiny --pack 1,2 \\
        --pack-seconds 1 --out /tmp/gpu_check.json
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import itertools
import json
import multiprocessing
import os
import platform
import signal
import statistics
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from torch import nn  # noqa: E402
from transformers import BertConfig, BertModel  # noqa: E402

import mtbioner  # noqa: E402
from mtbioner.atomicio import write_text  # noqa: E402
from mtbioner.data.examples import Example, read_examples, read_label_file, write_examples  # noqa: E402
from mtbioner.data.files import DataFiles, raw_file  # noqa: E402
from mtbioner.data.prepare import prepare_dataset, read_corpus  # noqa: E402
from mtbioner.errors import MtbionerError  # noqa: E402
from mtbioner.model.encoders import build_wordpiece_tokenizer  # noqa: E402
from mtbioner.model.inference import predict  # noqa: E402
from mtbioner.model.multitask import MultiTaskModel  # noqa: E402
from mtbioner.model.precision import autocast_dtype  # noqa: E402
from mtbioner.model.tokenization import Features, collate, encode_examples  # noqa: E402
from mtbioner.params import as_params, load_params, param_default  # noqa: E402
from mtbioner.plan.cost import grid_cost  # noqa: E402
from mtbioner.plan.grid import find_run  # noqa: E402
from mtbioner.run.config import RunConfig  # noqa: E402
from mtbioner.tasks import IGNORE_INDEX  # noqa: E402
from mtbioner.training.batching import epoch_schedule, run_steps  # noqa: E402
from mtbioner.training.step import Optimisation, parameter_groups  # noqa: E402
from mtbioner.training.trainer import EVAL_BATCH_SIZE, StepLosses, epoch_steps, train_run  # noqa: E402

#: The heads of the paper preset's joint-max run, which the check trains (`grid.tasks`' default).
TASKS = tuple(param_default("grid", "tasks"))
ROOT = Path(__file__).resolve().parents[1]
MIRROR_CANDIDATES = [ROOT / ".gpu" / "data", ROOT / "shared" / "datasets" / "MTL-Bioinformatics-2016" / "data",
                     ROOT.parent / "shared" / "datasets" / "MTL-Bioinformatics-2016" / "data"]
PHASES = ("environment", "data", "matmul", "step", "startup", "checkpoint", "eval", "levers", "ncbi", "packing",
          "estimate")
#: Steps between the packing workers' loss read-backs: about one BC2GM 10 % epoch at batch 32 (the trainer reads
#: the losses back once per epoch).
READ_BACK_EVERY = 50
#: Phases skipped once the time budget is spent (the others take seconds and report what was measured).
LONG_PHASES = {"matmul", "step", "startup", "checkpoint", "eval", "levers", "ncbi", "packing"}

#: Peak dense (no sparsity) FLOP/s by GPU name from NVIDIA's data sheets: bf16 on tensor cores, and plain fp32
#: (what torch's fp32 matmul runs while TF32 is off, its default); None where the sheet gives none. The first
#: entry whose key occurs in `torch.cuda.get_device_name()` applies, so more specific keys come first.
PEAK_FLOPS: tuple[tuple[str, float, float | None], ...] = (
    ("H100 PCIe", 756e12, 51.2e12),
    ("H100 NVL", 835e12, 60e12),
    ("H200 NVL", 835e12, 60e12),
    ("GH200", 989e12, 67e12),
    ("H200", 989e12, 67e12),
    ("H100", 989e12, 67e12),      # H100 SXM ("NVIDIA H100 80GB HBM3")
    ("B200", 2250e12, None),
    ("A100", 312e12, 19.5e12),    # SXM and PCIe alike
    ("L40S", 362e12, 91.6e12),
    ("L40", 181e12, 90.5e12),
    ("L4", 121e12, 30.3e12),
    ("A10", 125e12, 31.2e12),     # after A100, which contains "A10"
    ("RTX 4090", 165e12, 82.6e12),
)

#: BioBERT v1.1 (BERT-base, cased vocabulary).
BIOBERT_SHAPE = dict(layers=12, hidden_size=768, heads=12, intermediate_size=3072, vocab_size=28996,
                     max_positions=512)


class Terminated(BaseException):
    """SIGTERM (gpu_check.sh's time limit): ends the running phase with an error entry, then the check."""


def _terminate(signum, frame):  # noqa: ARG001
    raise Terminated()


# ------------------------------------------------------------------------------------------------ helpers
def peak_flops_for(gpu_name: str) -> dict | None:
    """{"key", "bf16", "fp32"} peak dense FLOP/s of a GPU by its name; None for a GPU not in the table."""
    for key, bf16, fp32 in PEAK_FLOPS:
        if key.lower() in gpu_name.lower():
            return {"key": key, "bf16": bf16, "fp32": fp32}
    return None


def model_flops_utilisation(parameters: int, tokens_per_second: float, peak_flops: float) -> float:
    """MFU: 6 · parameters (forward 2, backward 4 FLOPs per parameter and token) · tokens/s over the peak."""
    return 6.0 * parameters * tokens_per_second / peak_flops


def gpu_hours(sentence_passes: int, sentences_per_second: float) -> float:
    return sentence_passes / sentences_per_second / 3600.0


def find_mirror(explicit: Path | None) -> Path | None:
    """The corpus mirror's data/ directory (holding <NAME>-IOB/): --mirror, MTBIONER_MIRROR, or beside."""
    if explicit is not None:
        return explicit
    if os.environ.get("MTBIONER_MIRROR"):
        return Path(os.environ["MTBIONER_MIRROR"]) / "data"
    return next((path for path in MIRROR_CANDIDATES if path.is_dir()), None)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_gib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def prepared_files(dataset: str, data_root: Path, mirror: Path | None, work: Path) -> dict[str, Path]:
    """train_file (train ∪ devel), test_file and labels_file of a dataset: prepared data, else prepared here
    from the mirror into `work`."""
    def files_of(folder: Path) -> dict[str, Path]:
        files = DataFiles(str(folder))
        return {"train_file": Path(files.train), "test_file": Path(files.test), "labels_file": Path(files.labels)}

    prepared = files_of(data_root / dataset)
    if all(path.is_file() for path in prepared.values()):
        return prepared
    if mirror is None or not (mirror / f"{dataset}-IOB").is_dir():
        raise MtbionerError(f"{dataset}: neither prepared data in {data_root / dataset} nor a corpus mirror (--mirror)")
    prepare_dataset(mirror / f"{dataset}-IOB", work / dataset)
    return files_of(work / dataset)


def sliced(files: dict[str, Path], n_train: int | None, n_test: int | None, work: Path) -> dict[str, Path]:
    """The first n sentences of train and test (None = all), written to `work` when cut."""
    if n_train is None and n_test is None:
        return files
    work.mkdir(parents=True, exist_ok=True)
    out = dict(files)
    for key, limit in (("train_file", n_train), ("test_file", n_test)):
        if limit is not None:
            out[key] = work / Path(files[key]).name
            write_examples(out[key], read_examples(files[key])[:limit])
    return out


def float32_copy(encoder: str, work: Path) -> str:
    """`encoder` as is, unless it is a directory with half-precision safetensors weights (the MiniLM copy
    carried to a GPU machine is fp16 to fit its transfer limit): then an fp32 copy of it in `work`."""
    directory = Path(encoder)
    weights = directory / "model.safetensors"
    if not weights.is_file():
        return encoder
    from safetensors.torch import load_file, save_file

    tensors = load_file(weights)
    if all(tensor.dtype == torch.float32 for tensor in tensors.values()):
        return encoder
    target = work / f"{directory.name}-fp32"
    target.mkdir(parents=True, exist_ok=True)
    for item in directory.iterdir():
        if item.is_file() and item.name != weights.name:
            (target / item.name).write_bytes(item.read_bytes())
    save_file({name: tensor.float() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()},
              target / weights.name, metadata={"format": "pt"})
    return str(target)


def training_examples(dataset: str, data_root: Path, mirror: Path | None) -> tuple[list[Example], list[str]]:
    """(train ∪ devel examples, NER labels) of a dataset: prepared data, else read from the mirror by
    `prepare`'s reader."""
    prepared = DataFiles(str(data_root / dataset))
    if Path(prepared.train).is_file() and Path(prepared.labels).is_file():
        return read_examples(prepared.train), read_label_file(prepared.labels)
    folder = mirror / f"{dataset}-IOB" if mirror is not None else None
    if folder is None or not Path(raw_file(str(folder), "train")).is_file():
        raise MtbionerError(f"{dataset}: neither prepared data in {prepared.root} nor a corpus mirror (--mirror)")
    corpus = read_corpus(folder)
    return corpus.train, corpus.ner_labels


def run_settings(config: dict, dataset: str) -> RunConfig:
    """The paper preset's joint-max run of `dataset` at 100 %, first seed: the settings the check trains with."""
    return find_run(config, dataset, "joint-max", 100, as_params(config).grid.seeds[0]).config


# ------------------------------------------------------------------------------------------- the step loop
@dataclass
class StepData:
    """Real training inputs: encoded BC2GM features and what collating and the model need of the tokenizer."""

    features: list[Features]
    ner_labels: list[str]
    pad_id: int
    vocab_size: int

    @property
    def lengths(self) -> list[int]:
        return [len(feature) for feature in self.features]


def build_model(shape: dict, data: StepData, seed: int, device: torch.device) -> MultiTaskModel:
    """BERT of `shape`, randomly initialised directly on `device` (throughput does not depend on the weights),
    in MultiTaskModel with all four heads."""
    config = BertConfig(vocab_size=max(shape["vocab_size"], data.vocab_size), hidden_size=shape["hidden_size"],
                        num_hidden_layers=shape["layers"], num_attention_heads=shape["heads"],
                        intermediate_size=shape["intermediate_size"], max_position_embeddings=shape["max_positions"],
                        pad_token_id=data.pad_id)
    torch.manual_seed(seed)
    with torch.device(device):
        return MultiTaskModel(BertModel(config), TASKS, data.ner_labels, pooling="max", dropout=0.1)


def make_optimisation(model: nn.Module, run: RunConfig, n_features: int, device: torch.device,
                      fused: bool = False) -> Optimisation:
    """The trainer's `Optimisation.create` for `run` over `n_features` inputs; `fused` swaps in AdamW(fused=True)
    (the `fused_adamw` lever)."""
    optimisation = Optimisation.create(model, run.train, run_steps(run, n_features), device)
    if fused:
        optimizer = torch.optim.AdamW(parameter_groups(model, run.train.weight_decay), lr=run.train.learning_rate,
                                      fused=True)
        scheduler = type(optimisation.scheduler)(optimizer, optimisation.scheduler.lr_lambdas[0])
        optimisation = Optimisation(optimizer, scheduler, optimisation.scaler, optimisation.settings, device)
    return optimisation


class SyncFreeModel(MultiTaskModel):
    """`MultiTaskModel` whose losses need no host sync (the `no_forward_sync` lever): each task's mean over its
    labelled positions as sum / max(count, 1), which is `compute_losses`' mean where a task has labels and its
    graph-keeping zero where it has none, without first asking the GPU `(labels != IGNORE_INDEX).any()`."""

    def compute_losses(self, batch, tasks=None):
        logits = self.forward(batch["input_ids"], batch["attention_mask"], tasks=tasks)
        losses = {}
        for task, task_logits in logits.items():
            labels = batch[f"{task}_labels"].reshape(-1)
            total = F.cross_entropy(task_logits.float().reshape(-1, task_logits.shape[-1]), labels,
                                    ignore_index=IGNORE_INDEX, reduction="sum")
            losses[task] = total / (labels != IGNORE_INDEX).sum().clamp(min=1)
        return losses


def pad_to_multiple(batch: dict[str, torch.Tensor], multiple: int, pad_id: int) -> dict[str, torch.Tensor]:
    """A collated batch widened to a multiple of `multiple` positions (tensor cores like multiples of 8):
    padding ids, attention 0, labels IGNORE_INDEX, so the losses do not change."""
    extra = -batch["input_ids"].shape[1] % multiple
    if not extra:
        return batch
    fill = {"input_ids": pad_id, "attention_mask": 0}
    return {key: F.pad(value, (0, extra), value=fill.get(key, IGNORE_INDEX)) if value.dim() == 2 else value
            for key, value in batch.items()}


class StepLoop:
    """The trainer's epochs step by step: `epoch_steps` (the trainer's own epoch: `device_batch` and
    `train_step` on each entry of `epoch_schedule`), epoch after epoch, and its `StepLosses` (the losses kept
    as tensors; the trainer reads them back once per epoch, `read_back` here once per timed window).
    `pad_multiple` widens batches for the `pad_to_8` lever."""

    def __init__(self, model: MultiTaskModel, data: StepData, settings: RunConfig, device: torch.device,
                 optimisation: Optimisation, *, pad_multiple: int = 1) -> None:
        self.model, self.data, self.settings, self.device = model, data, settings, device
        self.optimisation = optimisation
        self.lengths = data.lengths
        self.losses = StepLosses([], {})
        widen = (lambda batch: pad_to_multiple(batch, pad_multiple, data.pad_id)) if pad_multiple > 1 else None
        self.steps = itertools.chain.from_iterable(
            epoch_steps(model, data.features, epoch_schedule(self.lengths, model.tasks, "joint",
                                                             settings.train.batch_size, settings.seed, epoch),
                        data.pad_id, device, optimisation, widen=widen)
            for epoch in itertools.count(1))

    def step(self) -> tuple[int, int, int]:
        """One step; (sentences, real sub-tokens, padded positions), counted on the host (no sync)."""
        step = next(self.steps)
        self.losses.add(step.loss, step.losses)
        return (len(step.indices), sum(self.lengths[index] for index in step.indices),
                step.batch["input_ids"].numel())

    def read_back(self) -> None:
        """The trainer's device-to-host copy of the step losses (per epoch there, per window here)."""
        self.losses.read_back()


def device_seconds(device: torch.device, body) -> float:
    """Seconds `body()` takes: CUDA events around it on a GPU (the device's own clock, no host sync inside),
    perf_counter on the CPU."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        body()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000
    started = time.perf_counter()
    body()
    return time.perf_counter() - started


def timed_windows(loop: StepLoop, warmup: int, windows: int, steps: int) -> dict:
    """`warmup` untimed steps, then `windows` windows of `steps` steps, each timed with CUDA events (on the
    CPU: perf_counter); rates are the medians over the windows."""
    device = loop.device
    for _ in range(warmup):
        loop.step()
    synchronize(device)
    reset_peak_memory(device)
    timed = []
    for _ in range(windows):
        totals = [0, 0, 0]  # sentences, tokens, padded tokens

        def window() -> None:
            for _ in range(steps):
                for index, count in enumerate(loop.step()):
                    totals[index] += count

        seconds = device_seconds(device, lambda: (window(), loop.read_back()))
        timed.append({"seconds": seconds, "steps": steps, "sentences": totals[0], "tokens": totals[1],
                      "padded_tokens": totals[2]})
    synchronize(device)

    def median(key: str) -> float:
        return statistics.median(window[key] / window["seconds"] for window in timed)

    return {"windows": timed, "sentences_per_second": median("sentences"), "tokens_per_second": median("tokens"),
            "padded_tokens_per_second": median("padded_tokens"),
            "step_ms": statistics.median(1000 * window["seconds"] / window["steps"] for window in timed),
            "peak_memory_gib": peak_memory_gib(device)}


def matmul_parameters(model: MultiTaskModel, data: StepData, device: torch.device) -> dict:
    """Parameters by what they cost, counted from the model on one real batch: the weights of the linear
    layers that see every token (`per_token`: the 6 · N of MFU), of those that see one vector per sentence
    (pooler, sentence heads: negligible FLOPs), and the rest (embeddings: a lookup; biases, LayerNorms)."""
    rows: dict[str, int] = {}
    hooks = [module.register_forward_hook(lambda _m, inputs, _o, name=name: rows.__setitem__(
        name, inputs[0].shape[:-1].numel())) for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    batch = collate(data.features[:4], data.pad_id)
    try:
        with torch.no_grad():
            model(batch["input_ids"].to(device), batch["attention_mask"].to(device))
    finally:
        for hook in hooks:
            hook.remove()
    positions = batch["input_ids"].numel()
    modules = dict(model.named_modules())
    per_token = sum(modules[name].weight.numel() for name, count in rows.items() if count == positions)
    per_sentence = sum(modules[name].weight.numel() for name, count in rows.items() if count != positions)
    total = sum(parameter.numel() for parameter in model.parameters())
    embeddings = sum(parameter.numel() for parameter in model.encoder.get_input_embeddings().parameters())
    return {"total": total, "per_token_matmul": per_token, "per_sentence_matmul": per_sentence,
            "input_embeddings": embeddings, "other": total - per_token - per_sentence}


# ------------------------------------------------------------------------------------------------ the check
class Check:
    """Runs the phases in order, writing the report after each one (atomically), so what one phase measured
    survives another's failure or the time limit."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.started = time.perf_counter()
        self.device = torch.device("cpu") if args.skip_cuda else torch.device(args.device)
        self.state: dict = {}  # what phases hand on that is not JSON (data, tokenizer)
        self.shape = {"layers": args.layers, "hidden_size": args.hidden_size, "heads": args.heads,
                      "intermediate_size": args.intermediate_size, "vocab_size": args.vocab_size,
                      "max_positions": args.max_positions}
        self._config: dict | None = None
        self.report: dict = {"format": "mtbioner-gpu-check/2", "argv": sys.argv[1:], "budget_seconds": args.budget,
                             "shape": self.shape, "phases": {name: {"status": "pending"} for name in PHASES}}

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def config(self) -> dict:
        if self._config is None:  # no Snakemake (its validator) on a bare GPU machine; params.yaml states all
            self._config = load_params(self.args.params.parent, validate=False)
        return self._config

    @property
    def data(self) -> StepData:
        """The data phase's training inputs (an error naming it when that phase did not succeed)."""
        self.result("data")
        return self.state["data"]

    @property
    def precisions(self) -> list[str]:
        return ["fp32"] if self.device.type == "cpu" else ["fp32", "bf16"]

    @property
    def main_precision(self) -> str:
        """The precision the paper preset trains in here (`auto`: bf16 on CUDA, fp32 on the CPU)."""
        return "bf16" if autocast_dtype(self.device, "auto") == torch.bfloat16 else "fp32"

    def write(self) -> None:
        self.report["elapsed_seconds"] = round(self.elapsed, 2)
        if self.args.out:  # default=str: a value JSON cannot hold must not cost the other phases' numbers
            write_text(self.args.out, json.dumps(self.report, indent=2, default=str) + "\n")

    def partial(self, name: str, result: dict) -> None:
        """A long phase's results so far, written before it ends."""
        self.report["phases"][name]["result"] = result
        self.write()

    def result(self, name: str) -> dict:
        entry = self.report["phases"][name]
        if entry["status"] != "ok":
            raise MtbionerError(f"needs the {name} phase, which is {entry['status']}"
                                + (f" ({entry['error']})" if entry.get("error") else ""))
        return entry["result"]

    def run(self, name: str, phase: Callable[["Check"], dict]) -> None:
        entry: dict = self.report["phases"][name]
        if name not in self.args.phases:
            entry.update(status="skipped", reason="not selected (--phases)")
        elif name in LONG_PHASES and self.args.budget and self.elapsed > self.args.budget:
            entry.update(status="skipped", reason=f"time budget spent ({self.elapsed:.0f} of {self.args.budget} s)")
        else:
            entry.update(status="running", started_at_seconds=round(self.elapsed, 2))
            self.write()
            started = time.perf_counter()
            try:
                entry["result"] = phase(self)
                entry["status"] = "ok"
            except Terminated:
                entry.update(status="error", error="terminated (SIGTERM: gpu_check.sh's time limit)")
                raise
            except Exception as error:  # noqa: BLE001 - recorded; the other phases still run
                entry.update(status="error", error=f"{type(error).__name__}: {error}",
                             traceback=traceback.format_exc()[-4000:])
                print(f"[{name}] FAILED: {type(error).__name__}: {error}", flush=True)
            finally:
                entry["seconds"] = round(time.perf_counter() - started, 2)
                if self.device.type == "cuda":
                    with contextlib.suppress(Exception):  # a broken CUDA context must not cost the report
                        torch.cuda.empty_cache()
                self.write()
            return
        print(f"[{name}] skipped: {entry['reason']}", flush=True)
        self.write()


# ---------------------------------------------------------------------------------------------------- phases
def phase_environment(check: Check) -> dict:
    device, args = check.device, check.args
    if device.type == "cuda" and not torch.cuda.is_available():
        raise MtbionerError("CUDA is not available here; --skip-cuda runs the check on the CPU")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    peaks = peak_flops_for(gpu) if gpu else None
    peak = {"bf16": args.peak_bf16 or (peaks or {}).get("bf16"), "fp32": args.peak_fp32 or (peaks or {}).get("fp32"),
            "source": "--peak-bf16/--peak-fp32" if args.peak_bf16 or args.peak_fp32 else
            (f"table entry {peaks['key']!r}" if peaks else None)}
    check.state["peak"] = peak
    result = {"device": str(device), "gpu": gpu, "python": platform.python_version(), "torch": torch.__version__,
              "transformers": transformers.__version__, "cuda": torch.version.cuda, "cpu_count": os.cpu_count(),
              "mtbioner": str(Path(mtbioner.__file__).parent), "peak_flops": peak,
              "tf32_matmul": torch.backends.cuda.matmul.allow_tf32}
    if gpu:
        properties = torch.cuda.get_device_properties(device)
        result.update(gpu_memory_gib=properties.total_memory / 2**30, capability=list(torch.cuda.get_device_capability(device)))
    print(f"[environment] {device}" + (f": {gpu}" if gpu else "") + f"; torch {torch.__version__}, transformers "
          f"{transformers.__version__}; peak bf16 {peak['bf16'] or 0:.3g}, fp32 {peak['fp32'] or 0:.3g} FLOP/s "
          f"({peak['source'] or 'unknown: MFU against the peak not computed'})", flush=True)
    return result


def phase_data(check: Check) -> dict:
    args = check.args
    settings = run_settings(check.config, "BC2GM")
    examples, labels = training_examples("BC2GM", args.data_root, args.mirror)
    examples = examples[:args.bc2gm_sentences]
    tokenizer = build_wordpiece_tokenizer([list(example.tokens) for example in examples], args.vocab_size)
    features = encode_examples(examples, tokenizer, labels, settings.model.max_length)
    data = StepData(features, labels, tokenizer.pad_token_id, len(tokenizer))
    check.state.update(data=data, tokenizer=tokenizer, examples=examples)
    lengths = data.lengths
    schedule = epoch_schedule(lengths, TASKS, "joint", settings.train.batch_size, settings.seed, 1)
    widths = [max(lengths[index] for index in indices) for _task, indices in schedule]
    result = {"dataset": "BC2GM", "sentences": len(examples), "inputs": len(features), "vocabulary": len(tokenizer),
              "max_length": settings.model.max_length, "batch_size": settings.train.batch_size,
              "mean_subtokens": statistics.fmean(lengths), "median_subtokens": statistics.median(lengths),
              "mean_padded_width": statistics.fmean(widths), "padding_share": 1 - sum(lengths) / sum(
                  width * len(indices) for width, (_task, indices) in zip(widths, schedule))}
    print(f"[data] BC2GM: {len(examples)} sentences, {result['mean_subtokens']:.1f} sub-tokens a sentence on "
          f"average, batches of {settings.train.batch_size} padded to {result['mean_padded_width']:.1f} on average "
          f"({result['padding_share']:.1%} padding)", flush=True)
    return result


def matmul_rate(device: torch.device, dtype: torch.dtype, m: int, k: int, n: int, repeats: int,
                windows: int) -> float:
    """FLOP/s of `a @ b` ([m, k] × [k, n]), the median of `windows` windows of `repeats` products."""
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)
    out = torch.empty(m, n, device=device, dtype=dtype)
    for _ in range(3):
        torch.matmul(a, b, out=out)
    synchronize(device)
    def window() -> None:
        for _ in range(repeats):
            torch.matmul(a, b, out=out)

    return statistics.median(2.0 * m * k * n * repeats / device_seconds(device, window) for _ in range(windows))


def phase_matmul(check: Check) -> dict:
    args, device = check.args, check.device
    data_result = check.report["phases"]["data"].get("result") or {}
    tokens = round(data_result.get("batch_size", 32) * data_result.get("mean_padded_width", 48))
    shapes = {"square": (args.matmul_size,) * 3, "step": (tokens, args.hidden_size, args.intermediate_size)}
    # the step's product takes microseconds: 10× the repeats keep the window long against the launches
    repeats = {"square": args.matmul_repeats, "step": 10 * args.matmul_repeats}
    result: dict = {"shapes": {name: list(shape) for name, shape in shapes.items()}, "repeats": repeats}
    for precision in check.precisions:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        result[precision] = {name: matmul_rate(device, dtype, *shape, repeats[name], 5)
                             for name, shape in shapes.items()}
        print(f"[matmul] {precision}: {result[precision]['square'] / 1e12:.1f} TFLOP/s at {args.matmul_size}³, "
              f"{result[precision]['step'] / 1e12:.1f} TFLOP/s at the step's shape {list(shapes['step'])}", flush=True)
    return result


def utilisation(check: Check, parameters: dict, rates: dict, precision: str) -> dict:
    """Model FLOP/s (6 · per-token matrix parameters · real tokens/s) over the peak and the measured ceilings."""
    flops = 6.0 * parameters["per_token_matmul"] * rates["tokens_per_second"]
    padded = 6.0 * parameters["per_token_matmul"] * rates["padded_tokens_per_second"]
    peak = check.state.get("peak", {}).get(precision)
    ceilings = (check.report["phases"]["matmul"].get("result") or {}).get(precision) or {}
    return {"model_flops_per_second": flops, "mfu": flops / peak if peak else None,
            "padded_flops_per_second": padded,
            "of_matmul_ceiling": {name: flops / rate for name, rate in ceilings.items()}}


def phase_step(check: Check) -> dict:
    args, device, data = check.args, check.device, check.data
    run = run_settings(check.config, "BC2GM")
    result: dict = {"batch_size": run.train.batch_size, "warmup_steps": args.warmup_steps, "windows": args.windows,
                    "steps_per_window": args.steps, "precisions": {}}
    for precision in check.precisions:
        settings = run.with_settings(precision=precision)
        model = build_model(check.shape, data, args.seed, device)
        if "parameters" not in result:
            result["parameters"] = matmul_parameters(model, data, device)
            result["attention"] = model.encoder.config._attn_implementation
        loop = StepLoop(model, data, settings, device, make_optimisation(model, settings, len(data.features), device))
        rates = timed_windows(loop, args.warmup_steps, args.windows, args.steps)
        rates.update(utilisation(check, result["parameters"], rates, precision))
        result["precisions"][precision] = rates
        check.partial("step", result)
        del loop, model
        mfu = f"{rates['mfu']:.1%}" if rates["mfu"] is not None else "n/a"
        ceiling = rates["of_matmul_ceiling"].get("step")
        print(f"[step] {precision}: {rates['sentences_per_second']:.1f} sentences/s, {rates['tokens_per_second']:.0f} "
              f"tokens/s, {rates['step_ms']:.1f} ms a step, peak "
              f"{rates['peak_memory_gib'] or 0:.2f} GiB, MFU {mfu} of the peak"
              + (f", {ceiling:.1%} of the step-shaped matmul ceiling" if ceiling else ""), flush=True)
    parameters = result["parameters"]
    print(f"[step] {parameters['total'] / 1e6:.1f} M parameters, {parameters['per_token_matmul'] / 1e6:.1f} M in "
          f"per-token matrix products (MFU's N); attention {result['attention']}", flush=True)
    return result


#: What a training job imports and touches before its first step, timed in a fresh interpreter (phase startup).
_STARTUP_PROGRAM = """
import time
started = time.perf_counter()
import torch
import mtbioner.training.trainer
imported = time.perf_counter()
device = torch.device({device!r})
if device.type == "cuda":
    torch.zeros(1, device=device)
    torch.cuda.synchronize(device)
print(imported - started, time.perf_counter() - imported)
"""


def phase_startup(check: Check) -> dict:
    """A training job's start-up before its first step: a fresh interpreter importing torch and the trainer,
    then creating the CUDA context (what every Snakemake training job pays), the median of `--startup-repeats`."""
    import subprocess

    runs = []
    for _ in range(check.args.startup_repeats):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _STARTUP_PROGRAM.format(device=str(check.device))],
                              capture_output=True, text=True, timeout=300, check=True)
        imports, context = (float(x) for x in done.stdout.split())
        runs.append({"wall_seconds": time.perf_counter() - started, "import_seconds": imports,
                     "context_seconds": context})
    result = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    result["runs"] = runs
    print(f"[startup] a training job's start-up: {result['wall_seconds']:.1f} s (imports {result['import_seconds']:.1f} s, "
          f"device context {result['context_seconds']:.2f} s), median of {len(runs)}", flush=True)
    return result


def phase_checkpoint(check: Check) -> dict:
    """The write cost of one checkpoint of the trainer (`save_checkpoint`: model, AdamW's moments after a step,
    scheduler, RNG states) for the encoder shape, on the disk the runs write to (`--data-root`'s parent)."""
    import shutil

    from mtbioner.training.checkpoints import Progress, save_checkpoint

    args, device, data = check.args, check.device, check.data
    run = run_settings(check.config, "BC2GM")
    settings = run.with_settings(precision=check.main_precision)
    model = build_model(check.shape, data, args.seed, device)
    loop = StepLoop(model, data, settings, device, make_optimisation(model, settings, len(data.features), device))
    loop.step()  # AdamW's moments exist after the first step: a checkpoint of a running job holds them
    synchronize(device)
    tokenizer = check.state["tokenizer"]  # the data phase's (check.data above required it)
    target = args.data_root.parent / "gpu-check-checkpoint"
    writes = []
    try:
        for _ in range(args.checkpoint_repeats):
            shutil.rmtree(target, ignore_errors=True)
            started = time.perf_counter()
            written = save_checkpoint(target, model, tokenizer, loop.optimisation.optimizer,
                                      loop.optimisation.scheduler, loop.optimisation.scaler, steps_done=1,
                                      progress=Progress(), history=[], config=run)
            seconds = time.perf_counter() - started
            size = sum(path.stat().st_size for path in written.rglob("*") if path.is_file())
            writes.append({"seconds": seconds, "bytes": size})
    finally:
        shutil.rmtree(target, ignore_errors=True)
    result = {"seconds": statistics.median(w["seconds"] for w in writes), "gb": writes[0]["bytes"] / 1e9,
              "writes": writes, "directory": str(target.parent)}
    result["gb_per_second"] = result["gb"] / result["seconds"]
    print(f"[checkpoint] {result['gb']:.2f} GB (model + AdamW state) written in {result['seconds']:.2f} s "
          f"({result['gb_per_second']:.2f} GB/s), median of {len(writes)}", flush=True)
    return result


def phase_eval(check: Check) -> dict:
    args, device, data = check.args, check.device, check.data
    sentences = [list(example.tokens) for example in check.state["examples"][:args.eval_sentences]]
    model = build_model(check.shape, data, args.seed, device)
    precision = check.main_precision
    predict(model, check.state["tokenizer"], sentences[:EVAL_BATCH_SIZE], batch_size=EVAL_BATCH_SIZE,
            precision=precision)  # warm-up: kernels chosen, memory pooled
    synchronize(device)
    started = time.perf_counter()
    predict(model, check.state["tokenizer"], sentences, batch_size=EVAL_BATCH_SIZE, precision=precision)
    synchronize(device)
    seconds = time.perf_counter() - started
    result = {"precision": precision, "sentences": len(sentences), "batch_size": EVAL_BATCH_SIZE,
              "seconds": seconds, "sentences_per_second": len(sentences) / seconds}
    print(f"[eval] {precision}: {result['sentences_per_second']:.0f} sentences/s (mtbioner.model.inference.predict, "
          f"batch {EVAL_BATCH_SIZE})", flush=True)
    return result


LEVERS: dict[str, dict] = {
    "trainer": {},
    "fused_adamw": {"fused": True},
    "pad_to_8": {"pad_multiple": 8},
    "no_forward_sync": {"sync_free": True},
    "all": {"fused": True, "pad_multiple": 8, "sync_free": True},
}


def phase_levers(check: Check) -> dict:
    args, device, data = check.args, check.device, check.data
    precision = check.main_precision
    settings = run_settings(check.config, "BC2GM").with_settings(precision=precision)
    model = build_model(check.shape, data, args.seed, device)
    result: dict = {"precision": precision, "windows": args.lever_windows, "steps_per_window": args.steps,
                    "variants": {}}
    for name, lever in LEVERS.items():
        model.__class__ = SyncFreeModel if lever.get("sync_free") else MultiTaskModel  # same weights, other losses
        try:
            optimisation = make_optimisation(model, settings, len(data.features), device, fused=lever.get("fused", False))
            loop = StepLoop(model, data, settings, device, optimisation, pad_multiple=lever.get("pad_multiple", 1))
            rates = timed_windows(loop, max(3, args.warmup_steps // 2), args.lever_windows, args.steps)
            del rates["windows"]
            result["variants"][name] = rates
        except Exception as error:  # noqa: BLE001 - e.g. fused AdamW missing on a device: the rest still measured
            result["variants"][name] = {"error": f"{type(error).__name__}: {error}"}
        finally:
            model.__class__ = MultiTaskModel
        check.partial("levers", result)
    base = result["variants"]["trainer"].get("sentences_per_second")
    for name, rates in result["variants"].items():
        if base and "sentences_per_second" in rates:
            rates["speedup"] = rates["sentences_per_second"] / base
            print(f"[levers] {name:16} {rates['sentences_per_second']:9.1f} sentences/s  {rates['step_ms']:7.2f} ms "
                  f"a step  {rates['speedup']:.3f}×", flush=True)
        else:
            print(f"[levers] {name:16} {rates.get('error', 'no baseline')}", flush=True)
    return result


def phase_ncbi(check: Check) -> dict:
    args, device = check.args, check.device
    work = check.state["work"]
    files = prepared_files("NCBI-disease", args.data_root, args.mirror, work / "data")
    files = sliced(files, args.ncbi_sentences, args.ncbi_sentences, work / "ncbi-slice")
    base = run_settings(check.config, "NCBI-disease").to_json_dict()
    encoder = float32_copy(args.ncbi_encoder, work)
    run = RunConfig.model_validate({**base, "experiment": "gpu-check", "encoder": encoder, "epochs": 1,
                                    "checkpoint_every_minutes": None, "max_test_sentences": None,
                                    **{key: str(path) for key, path in files.items()}})
    started = time.perf_counter()
    metrics = train_run(run, work / "ncbi-run", device=str(device), progress=False)
    result = {"encoder": args.ncbi_encoder, "learning_rate": run.train.learning_rate, "batch_size": run.train.batch_size,
              "precision": run.train.precision, "train_sentences": len(read_examples(files["train_file"])),
              "test_sentences": len(read_examples(files["test_file"])), "wall_seconds": time.perf_counter() - started,
              "train_seconds": metrics["train_seconds"],
              "train_sentences_per_second": metrics["train_sentences_per_second"], "test_ner_f1": metrics["ner"]["f1"]}
    print(f"[ncbi] {args.ncbi_encoder}, 1 epoch through mtbioner.training.trainer ({run.train.precision}, lr "
          f"{run.train.learning_rate:g}, batch {run.train.batch_size}): {result['train_sentences']} sentences in "
          f"{result['train_seconds']:.1f} s ({result['train_sentences_per_second']:.1f} sentences/s), test NER F1 "
          f"{result['test_ner_f1']:.4f} on {result['test_sentences']} sentences", flush=True)
    return result


def _pack_worker(rank: int, connection, spec: dict) -> None:
    """One packed training (a process of its own): builds its model, then runs rounds the parent asks for."""
    try:
        torch.set_num_threads(spec["threads"])
        device = torch.device(spec["device"])
        data, settings = spec["data"], spec["settings"]
        model = build_model(spec["shape"], data, settings.seed + rank, device)
        loop = StepLoop(model, data, settings, device, make_optimisation(model, settings, len(data.features), device))
        connection.send(("started", os.getpid()))
        while True:
            message = connection.recv()
            if message[0] == "stop":
                return
            for _ in range(message[1]):  # ("round", warm-up steps)
                loop.step()
            synchronize(device)
            reset_peak_memory(device)
            connection.send(("ready", None))
            _go, start_at, seconds = connection.recv()
            while time.time() < start_at:
                time.sleep(0.0005)
            steps = sentences = tokens = 0
            while time.time() < start_at + seconds or steps == 0:
                counts = loop.step()
                steps, sentences, tokens = steps + 1, sentences + counts[0], tokens + counts[1]
                if steps % READ_BACK_EVERY == 0:  # the trainer's per-epoch read, at about an epoch's step count
                    loop.read_back()
            loop.read_back()
            synchronize(device)
            connection.send(("done", {"steps": steps, "sentences": sentences, "tokens": tokens,
                                      "seconds": time.time() - start_at, "peak_memory_gib": peak_memory_gib(device)}))
    except BaseException:  # noqa: BLE001 - reported to the parent, which records it
        connection.send(("error", traceback.format_exc()[-3000:]))


def _expect(connection, kind: str, timeout: float, rank: int):
    if not connection.poll(timeout):
        raise TimeoutError(f"packing worker {rank}: no {kind!r} within {timeout:.0f} s")
    message, payload = connection.recv()
    if message == "error":
        raise RuntimeError(f"packing worker {rank} failed:\n{payload}")
    if message != kind:
        raise RuntimeError(f"packing worker {rank}: expected {kind!r}, got {message!r}")
    return payload


def phase_packing(check: Check) -> dict:
    args, device, data = check.args, check.device, check.data
    counts = sorted(set(args.pack))
    settings = run_settings(check.config, "BC2GM").with_settings(precision=check.main_precision)
    spec = {"device": str(device), "shape": check.shape, "data": data, "settings": settings,
            "threads": max(1, (os.cpu_count() or 1) // max(counts))}
    context = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    workers = []
    result: dict = {"precision": settings.train.precision, "seconds_per_round": args.pack_seconds, "rounds": {}}
    try:
        for rank in range(max(counts)):
            parent_end, child_end = context.Pipe()
            process = context.Process(target=_pack_worker, args=(rank, child_end, spec), daemon=True)
            process.start()
            child_end.close()
            workers.append((process, parent_end))
        for rank, (_process, connection) in enumerate(workers):
            _expect(connection, "started", 600, rank)
        # a round is skipped only when it would not end within the budget: its length is the timed seconds plus
        # what the round before it took beyond them (warm-up steps, synchronising; unknown before the first
        # round: 10 s), doubled for the larger K
        overhead = 10.0
        for k in counts:
            if args.budget and check.elapsed + args.pack_seconds + 2 * overhead > args.budget:
                result["rounds"][str(k)] = {"skipped": f"time budget ({check.elapsed:.0f} of {args.budget:g} s)"}
                continue
            round_started = time.perf_counter()
            active = workers[:k]
            for _process, connection in active:
                connection.send(("round", args.pack_warmup_steps))
            for rank, (_process, connection) in enumerate(active):
                _expect(connection, "ready", 300, rank)
            start_at = time.time() + 0.5
            for _process, connection in active:
                connection.send(("go", start_at, args.pack_seconds))
            done = [_expect(connection, "done", args.pack_seconds + 300, rank)
                    for rank, (_process, connection) in enumerate(active)]
            wall = max(run["seconds"] for run in done)
            memory = [run["peak_memory_gib"] for run in done]
            result["rounds"][str(k)] = {
                "aggregate_sentences_per_second": sum(run["sentences"] for run in done) / wall,
                "aggregate_tokens_per_second": sum(run["tokens"] for run in done) / wall,
                "per_run_sentences_per_second": [run["sentences"] / run["seconds"] for run in done],
                "peak_memory_gib": memory, "runs": done}
            overhead = max(time.perf_counter() - round_started - args.pack_seconds, 0.5)
            check.partial("packing", result)
            row = result["rounds"][str(k)]
            print(f"[packing] K={k}: {row['aggregate_sentences_per_second']:.1f} sentences/s together, peak memory "
                  + ("n/a" if memory[0] is None else f"{max(memory):.2f} GiB") + " a process", flush=True)
    finally:
        for _process, connection in workers:
            try:
                connection.send(("stop",))
            except (BrokenPipeError, OSError):
                pass
        for process, _connection in workers:
            process.join(10)
            if process.is_alive():
                process.terminate()
    measured = {int(k): row for k, row in result["rounds"].items() if "aggregate_sentences_per_second" in row}
    if not measured:
        raise MtbionerError("no packing round was measured")
    best = max(measured, key=lambda k: measured[k]["aggregate_sentences_per_second"])
    result["best_k"] = best
    if 1 in measured:
        single = measured[1]["aggregate_sentences_per_second"]
        for k, row in measured.items():
            row["speedup"] = row["aggregate_sentences_per_second"] / single
            row["efficiency"] = row["speedup"] / k
    return result


def phase_estimate(check: Check) -> dict:
    args = check.args
    step = check.result("step")
    basis = check.main_precision if check.main_precision in step["precisions"] else "fp32"
    train_rate = step["precisions"][basis]["sentences_per_second"]
    eval_entry = check.report["phases"]["eval"]
    eval_rate = eval_entry["result"]["sentences_per_second"] if eval_entry["status"] == "ok" else None
    config = copy.deepcopy(check.config)
    if args.mirror is not None:
        config["data"]["source"] = str(args.mirror)
    unpacked = grid_cost(config, args.data_root, train_rate, eval_rate)
    result: dict = {"params": str(args.params), "runs": len(unpacked.runs), "precision": basis,
                    "train_sentences_per_second": train_rate, "eval_sentences_per_second": unpacked.eval_throughput,
                    "eval_measured": eval_rate is not None, "sizes": {name: list(size) for name, size in unpacked.sizes.items()},
                    "train_sentence_passes": unpacked.train_passes, "eval_sentence_passes": unpacked.eval_passes,
                    "train_gpu_hours": gpu_hours(unpacked.train_passes, train_rate),
                    "gpu_hours": unpacked.device_hours,
                    "cost_command": f"mtbioner cost --train-throughput {train_rate:.0f} --eval-throughput "
                                    f"{unpacked.eval_throughput:.0f}"}
    print(f"[estimate] paper preset ({len(unpacked.runs)} runs): {unpacked.train_passes:,} training sentence-passes at "
          f"{train_rate:,.1f} sentences/s ({basis}) and {unpacked.eval_passes:,} evaluation passes at "
          f"{unpacked.eval_throughput:,.0f}/s ({'measured' if eval_rate else 'declared'}): "
          f"{unpacked.device_hours:,.1f} GPU-hours, one run per GPU", flush=True)
    packing = check.report["phases"]["packing"]
    if packing["status"] == "ok" and packing["result"]["best_k"] > 1 and "1" in packing["result"]["rounds"]:
        rounds, best = packing["result"]["rounds"], packing["result"]["best_k"]
        single, aggregate = rounds["1"]["aggregate_sentences_per_second"], rounds[str(best)]["aggregate_sentences_per_second"]
        packed = grid_cost(config, args.data_root, single, eval_rate, runs_per_gpu=best,
                           packed_train_throughput=aggregate)
        result["packed"] = {"runs_per_gpu": best, "single_sentences_per_second": single,
                            "aggregate_sentences_per_second": aggregate, "speedup": packed.packing_speedup,
                            "gpu_hours_unpacked": packed.device_hours, "gpu_hours": packed.packed_device_hours,
                            "cost_command": f"mtbioner cost --train-throughput {single:.0f} --eval-throughput "
                                            f"{packed.eval_throughput:.0f} --runs-per-gpu {best} "
                                            f"--packed-throughput {aggregate:.0f}"}
        print(f"[estimate] packed, {best} runs per GPU ({packed.packing_speedup:.2f}× one run's throughput): "
              f"{packed.packed_device_hours:,.1f} GPU-hours (unpacked at the packing phase's K=1 rate: "
              f"{packed.device_hours:,.1f}); {result['packed']['cost_command']}", flush=True)
    return result


PHASE_FUNCTIONS: dict[str, Callable[[Check], dict]] = {
    "environment": phase_environment, "data": phase_data, "matmul": phase_matmul, "step": phase_step,
    "startup": phase_startup, "checkpoint": phase_checkpoint, "eval": phase_eval, "levers": phase_levers, "ncbi": phase_ncbi, "packing": phase_packing,
    "estimate": phase_estimate,
}


# ----------------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed window")
    parser.add_argument("--windows", type=int, default=5, help="timed windows per precision (the median is reported)")
    parser.add_argument("--lever-windows", type=int, default=3, help="timed windows per lever")
    parser.add_argument("--warmup-steps", type=int, default=10, help="untimed steps before the windows")
    parser.add_argument("--matmul-size", type=int, default=8192, help="side of the square matmul ceiling")
    parser.add_argument("--matmul-repeats", type=int, default=10, help="products per matmul window")
    parser.add_argument("--eval-sentences", type=int, default=2000, help="BC2GM sentences the eval phase tags")
    parser.add_argument("--startup-repeats", type=int, default=3, help="fresh interpreters the startup phase times")
    parser.add_argument("--checkpoint-repeats", type=int, default=3, help="checkpoint writes the checkpoint phase times")
    parser.add_argument("--pack", default="1,2,4,8", help="concurrent trainings per packing round")
    parser.add_argument("--pack-seconds", type=float, default=12.0, help="timed seconds of each packing round")
    parser.add_argument("--pack-warmup-steps", type=int, default=5)
    parser.add_argument("--budget", type=float, default=420.0,
                        help="seconds after which long phases are skipped (0: none); gpu_check.sh kills at 480")
    parser.add_argument("--device", default="cuda", help="cuda or cuda:N (ignored with --skip-cuda)")
    parser.add_argument("--skip-cuda", action="store_true", help="CPU run: fp32 only, no GPU memory or GPU peak")
    parser.add_argument("--peak-bf16", type=float, help="peak dense bf16 FLOP/s of the GPU (overrides the table)")
    parser.add_argument("--peak-fp32", type=float, help="peak fp32 FLOP/s of the GPU (overrides the table)")
    parser.add_argument("--out", type=Path, help="the JSON report, rewritten after every phase")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--data-root", type=Path, default=ROOT / "results" / "data",
                        help="prepared data (<dataset>/train.jsonl, ...), used when present")
    parser.add_argument("--mirror", type=Path, default=None, help="corpus mirror data/ with <NAME>-IOB/")
    parser.add_argument("--bc2gm-sentences", type=int, default=4000, help="first N BC2GM sentences (0: all)")
    parser.add_argument("--ncbi-encoder", default="minilm", help="'minilm', 'tiny' or an encoder directory")
    parser.add_argument("--ncbi-sentences", type=int, default=None,
                        help="first N training and test sentences of NCBI-disease (default: the whole epoch)")
    parser.add_argument("--seed", type=int, default=13)
    shape = parser.add_argument_group("encoder shape (default BioBERT v1.1's)")
    shape.add_argument("--layers", type=int, default=BIOBERT_SHAPE["layers"])
    shape.add_argument("--hidden-size", type=int, default=BIOBERT_SHAPE["hidden_size"])
    shape.add_argument("--heads", type=int, default=BIOBERT_SHAPE["heads"])
    shape.add_argument("--intermediate-size", type=int, default=BIOBERT_SHAPE["intermediate_size"])
    shape.add_argument("--vocab-size", type=int, default=BIOBERT_SHAPE["vocab_size"])
    shape.add_argument("--max-positions", type=int, default=BIOBERT_SHAPE["max_positions"])
    args = parser.parse_args(argv)
    args.phases = [name.strip() for name in args.phases.split(",") if name.strip()]
    unknown = sorted(set(args.phases) - set(PHASES))
    if unknown:
        parser.error(f"--phases: unknown {', '.join(unknown)} (known: {', '.join(PHASES)})")
    try:
        args.pack = [int(k) for k in args.pack.split(",") if k.strip()]
    except ValueError:
        parser.error(f"--pack {args.pack!r}: comma-separated positive integers")
    if not args.pack or min(args.pack) < 1:
        parser.error("--pack: at least one count, each at least 1")
    if args.steps < 1 or args.windows < 1 or args.lever_windows < 1 or args.warmup_steps < 0:
        parser.error("--steps, --windows and --lever-windows must be at least 1, --warmup-steps at least 0")
    args.bc2gm_sentences = args.bc2gm_sentences or None
    args.mirror = find_mirror(args.mirror)
    return args


def main(argv: list[str] | None = None) -> dict:
    """Run the selected phases; the report (also written to --out after each phase) is returned."""
    import tempfile

    args = parse_args(argv)
    check = Check(args)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with tempfile.TemporaryDirectory(prefix="mtbioner-gpu-check-") as tmp:
            check.state["work"] = Path(tmp)
            for name in PHASES:
                check.run(name, PHASE_FUNCTIONS[name])
    except Terminated:
        print(f"terminated after {check.elapsed:.0f} s; the report holds every phase that ended", flush=True)
        check.report["terminated"] = True
    finally:
        signal.signal(signal.SIGTERM, previous)
        check.write()
    statuses = {name: entry["status"] for name, entry in check.report["phases"].items()}
    print("phases: " + ", ".join(f"{name} {status}" for name, status in statuses.items()), flush=True)
    return check.report


if __name__ == "__main__":
    report = main()
    sys.exit(0 if all(entry["status"] in ("ok", "skipped") for entry in report["phases"].values()) else 1)
