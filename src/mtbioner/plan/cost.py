"""What a configured grid will cost, computed before anything runs (`mtbioner cost`).

For every run of the grid (mtbioner.plan.grid) it counts optimizer steps, training sentence-passes (sentences ×
epochs; alternating runs make one pass per task per epoch), evaluation sentence-passes (the test set once,
or after every epoch for the runs whose curves are drawn), the models kept and their disk, and turns the
passes into device-hours with a throughput in sentences/s: a declared default per encoder size (below) or a
measured one (`--train-throughput`, e.g. from benchmarks/gpu_check.sh).

Sentence counts come from the prepared data when it exists (results/data/<dataset>/), else from the corpus
files under `data.source` when that is a local directory (a mirror), else from an own corpus' files.
Over-long sentences split into windows add a few inputs more than sentences (under 0.1 % in the paper's
datasets), which the counts ignore.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtbioner.plan import grid
from mtbioner.model.encoders import MINILM, TINY
from mtbioner.errors import MtbionerError
from mtbioner.data.iob import read_iob
from mtbioner.data.subsample import fraction_size


@dataclass(frozen=True)
class EncoderCost:
    """Declared sizes and throughputs of an encoder class; the throughputs are assumptions to override."""

    name: str
    model_mb: float  # save_pretrained size of encoder + heads + tokenizer (fp32 safetensors)
    train_sentences_per_second: float  # one modern data-centre GPU, bf16 autocast, batch 32, ~45 sub-tokens
    eval_sentences_per_second: float


#: BERT-base (BioBERT): 110 M parameters, 433 MB on the hub; ~600 training sentences/s assumes ~15 % MFU of an
#: A100/H100-class GPU at batch 32 (small batches keep a GPU far from its peak; gpu_check.sh measures it).
BERT_BASE = EncoderCost("bert-base", 433.0, 600.0, 3000.0)
#: all-MiniLM-L6-v2: 22.7 M parameters, 91 MB.
MINILM_L6 = EncoderCost("minilm-l6", 91.0, 3000.0, 15000.0)
TINY_BERT = EncoderCost("tiny", 1.5, 20000.0, 60000.0)


def encoder_cost(encoder: str) -> EncoderCost:
    if encoder == TINY:
        return TINY_BERT
    if encoder == MINILM or "minilm" in encoder.lower():
        return MINILM_L6
    return BERT_BASE  # the paper's BioBERT and other base-sized BERTs


def count_sentences_jsonl(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def count_sentences_tsv(path: Path) -> int:
    """Blank-line separated sentences of a token<TAB>tag file (read by the corpus reader, leniently)."""
    return len(read_iob(path, lenient=True))


def dataset_sizes(config: dict[str, Any], dataset: str, data_root: str | Path = "results/data") -> tuple[int, int]:
    """(train ∪ devel sentences, test sentences) of one dataset (module docstring: where they come from)."""
    prepared = Path(data_root) / dataset
    if (prepared / "train.jsonl").is_file() and (prepared / "test.jsonl").is_file():
        return count_sentences_jsonl(prepared / "train.jsonl"), count_sentences_jsonl(prepared / "test.jsonl")
    custom = (config["data"].get("custom_datasets") or {}).get(dataset)
    if custom:
        files = {split: Path(custom[split]) for split in ("train", "devel", "test") if custom.get(split)}
    else:
        source = Path(str(config["data"]["source"]))
        files = {split: source / f"{dataset}-IOB" / f"{split}.tsv" for split in ("train", "devel", "test")}
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise MtbionerError(f"cannot count the sentences of {dataset}: no prepared data in {prepared} and "
                            f"{', '.join(missing)} missing (point data.source at a local mirror, or run "
                            "`snakemake all_data` first)")
    train = sum(count_sentences_tsv(files[split]) for split in ("train", "devel") if split in files)
    return train, count_sentences_tsv(files["test"])


@dataclass
class RunCost:
    run: grid.Run
    steps: int
    train_passes: int
    eval_passes: int
    keeps_model: bool


@dataclass
class GridCost:
    runs: list[RunCost]
    encoder: EncoderCost
    train_throughput: float
    eval_throughput: float
    checkpoint_jobs: int  # jobs whose per-epoch checkpoints are on disk at once (a bound, = parallel jobs)
    checkpoint_every_epoch: bool
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # dataset -> (train ∪ devel, test) sentences

    @property
    def steps(self) -> int:
        return sum(run.steps for run in self.runs)

    @property
    def train_passes(self) -> int:
        return sum(run.train_passes for run in self.runs)

    @property
    def eval_passes(self) -> int:
        return sum(run.eval_passes for run in self.runs)

    @property
    def models_kept(self) -> int:
        return sum(run.keeps_model for run in self.runs)

    @property
    def model_disk_gb(self) -> float:
        return self.models_kept * self.encoder.model_mb / 1000

    @property
    def checkpoint_disk_gb(self) -> float:
        # model + AdamW's two moments (fp32, each the size of the weights) per job that is running
        return self.checkpoint_jobs * 3 * self.encoder.model_mb / 1000 if self.checkpoint_every_epoch else 0.0

    def hours(self, train_passes: int, eval_passes: int) -> float:
        """Device-hours of these sentence-passes at the cost's throughputs."""
        return (train_passes / self.train_throughput + eval_passes / self.eval_throughput) / 3600

    @property
    def device_hours(self) -> float:
        return self.hours(self.train_passes, self.eval_passes)


def grid_cost(config: dict[str, Any], data_root: str | Path = "results/data", train_throughput: float | None = None,
              eval_throughput: float | None = None, parallel_jobs: int = 1) -> GridCost:
    encoder = encoder_cost(str(config["model"]["encoder"]))
    limit = config["data"].get("max_train_sentences")
    max_test = config.get("eval", {}).get("max_test_sentences")
    sizes: dict[str, tuple[int, int]] = {}
    runs = []
    for run in grid.expand_grid(config):
        if run.dataset not in sizes:
            sizes[run.dataset] = dataset_sizes(config, run.dataset, data_root)
        n_train, n_test = sizes[run.dataset]
        pool = min(n_train, limit) if limit else n_train
        sentences = fraction_size(pool, run.fraction)
        settings = grid.run_config(config, run)
        passes_per_epoch = len(settings.tasks) if settings.strategy == "alternating" and len(settings.tasks) > 1 else 1
        steps = settings.epochs * passes_per_epoch * math.ceil(sentences / settings.batch_size)
        test = min(n_test, max_test) if max_test else n_test
        runs.append(RunCost(run, steps, settings.epochs * passes_per_epoch * sentences,
                            test * (settings.epochs if settings.eval_every_epoch else 1), settings.save_model))
    return GridCost(runs, encoder, train_throughput or encoder.train_sentences_per_second,
                    eval_throughput or encoder.eval_sentences_per_second, parallel_jobs,
                    bool(config["train"].get("checkpoint_every_epoch", True)), sizes)


def cost_table(cost: GridCost) -> str:
    """The Markdown table `mtbioner cost` prints (and README shows for the paper preset)."""
    by_dataset: dict[str, list[RunCost]] = {}
    for run in cost.runs:
        by_dataset.setdefault(run.run.dataset, []).append(run)
    lines = ["| dataset | runs | optimizer steps | training sentence-passes | evaluation sentence-passes | "
             "models kept | device-hours |", "|---|---:|---:|---:|---:|---:|---:|"]

    def row(name: str, runs: list[RunCost]) -> str:
        train, evaluation = sum(r.train_passes for r in runs), sum(r.eval_passes for r in runs)
        hours = cost.hours(train, evaluation)
        return (f"| {name} | {len(runs)} | {sum(r.steps for r in runs):,} | {train:,} | {evaluation:,} | "
                f"{sum(r.keeps_model for r in runs)} | {hours:,.1f} |")

    lines += [row(dataset, runs) for dataset, runs in by_dataset.items()]
    lines.append(row("**total**", cost.runs))
    lines += ["", f"- encoder class: {cost.encoder.name}; throughput assumed: {cost.train_throughput:,.0f} training "
              f"and {cost.eval_throughput:,.0f} evaluation sentences/s per device",
              f"- disk: {cost.models_kept} kept models × {cost.encoder.model_mb:,.0f} MB = "
              f"{cost.model_disk_gb:,.1f} GB" + (f"; per-epoch checkpoints (model + AdamW state) "
                                                f"{cost.checkpoint_disk_gb:,.1f} GB while {cost.checkpoint_jobs} "
                                                "job(s) run" if cost.checkpoint_every_epoch else
                                                "; no per-epoch checkpoints"),
              f"- device-hours: {cost.device_hours:,.1f} (training + evaluation at the throughputs above)"]
    return "\n".join(lines)


def cost_json(cost: GridCost) -> str:
    return json.dumps({"runs": len(cost.runs), "optimizer_steps": cost.steps,
                       "train_sentence_passes": cost.train_passes, "eval_sentence_passes": cost.eval_passes,
                       "models_kept": cost.models_kept, "model_disk_gb": round(cost.model_disk_gb, 2),
                       "checkpoint_disk_gb": round(cost.checkpoint_disk_gb, 2),
                       "train_sentences_per_second": cost.train_throughput,
                       "eval_sentences_per_second": cost.eval_throughput,
                       "device_hours": round(cost.device_hours, 2), "encoder_class": cost.encoder.name}, indent=2)
