"""What a configured grid will cost, computed before anything runs (`mtbioner cost`).

For every run of the grid (mtbioner.plan.grid) it counts optimizer steps, training sentence-passes (sentences ×
epochs; alternating runs make one pass per task per epoch), evaluation sentence-passes (the test set once,
or after every epoch for the runs whose curves are drawn), the models kept and their disk, and turns the
passes into device-hours with a throughput in sentences/s: a declared default per encoder size (below) or a
measured one (`--train-throughput`, e.g. from benchmarks/gpu_check.sh).

Packing (`runs_per_gpu` K > 1): the grid's runs are independent and each leaves a GPU mostly idle, so K of them
can share one GPU. Their aggregate throughput is `packed_train_throughput` when measured (gpu_check.sh's
packing phase prints it), else K × the single-run throughput × `PACKING_EFFICIENCY` (an assumption); the packed
GPU-hours are the device-hours divided by that speed-up (evaluation runs inside the same jobs, so it shares
it). Wall-clock time on G GPUs is the GPU-hours / G either way.

Sentence counts come from the prepared data when it exists (results/<name>/data/<dataset>/), else from the corpus
files under `data.source` when that is a local directory (a mirror: its root or its data/ folder, as
`mtbioner.data.corpus.local_file` reads it), else from an own corpus' files.
Over-long sentences split into windows add a few inputs more than sentences (under 0.1 % in the paper's
datasets), which the counts ignore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mtbioner.data.align import ConversionReport
from mtbioner.data.corpus import OwnCorpusOptions, local_file, read_own_split
from mtbioner.data.files import DataFiles
from mtbioner.data.iob import read_iob
from mtbioner.data.subsample import fraction_size
from mtbioner.errors import MtbionerError
from mtbioner.params import as_params
from mtbioner.plan import grid
from mtbioner.plan.grid import Config
from mtbioner.training.batching import passes_per_epoch, run_steps


@dataclass(frozen=True)
class EncoderCost:
    """Declared sizes and throughputs of an encoder class; the throughputs are assumptions to override."""

    name: str
    model_mb: float  # save_pretrained size of encoder + heads + tokenizer (fp32 safetensors)
    train_sentences_per_second: float  # one modern data-centre GPU, bf16 autocast, batch 32, ~45 sub-tokens
    eval_sentences_per_second: float
    #: One 1-thread training job on a 2-core CPU without native bf16 (fp32), start-up and test scoring
    #: included: the slowest rate measured (MiniLM, docs/cpu/RUN.md, 2026-12-02); a CPU with native bf16 is
    #: ~2x faster. None: not measured for this encoder class (a CPU preset then needs --train-throughput).
    cpu_train_sentences_per_second: float | None = None
    cpu_eval_sentences_per_second: float | None = None


#: BERT-base (BioBERT): 110 M parameters (~85 M of them in matrix products; the rest are embeddings and the
#: unused pooler), 433 MB on the hub. ~600 training sentences/s is an assumption until measured: at ~45
#: sub-tokens a sentence it is 600 × 45 × 6 × 110 M ≈ 18 TFLOP/s (14 TFLOP/s counting the matrix-product
#: parameters only), under 2 % of an H100's dense bf16 peak (989 TFLOP/s) and ~6 % of an A100's (312):
#: batches of 32 short sentences keep a GPU far from its peak. benchmarks/gpu_check.sh measures it.
BERT_BASE = EncoderCost("bert-base", 433.0, 600.0, 3000.0)
#: all-MiniLM-L6-v2: 22.7 M parameters, 91 MB. On a CPU: 13.7 training sentence-passes/s per 1-thread job
#: (docs/cpu/RUN.md); prediction counted at 3x that (forward only).
MINILM_L6 = EncoderCost("minilm-l6", 91.0, 3000.0, 15000.0, 13.7, 41.1)
TINY_BERT = EncoderCost("tiny", 1.5, 20000.0, 60000.0)

#: Aggregate throughput of K runs packed on one GPU over K × one run's: an assumption until gpu_check.sh's
#: packing phase measures it (pass its aggregate sentences/s as `packed_train_throughput`). Below 1 because
#: the runs time-share the GPU; how far below depends on how idle one run leaves it.
PACKING_EFFICIENCY = 0.6


def encoder_cost(encoder: str) -> EncoderCost:
    from mtbioner.model.encoders import MINILM, TINY  # not at import: this layer stays free of torch's load

    if encoder == TINY:
        return TINY_BERT
    if encoder == MINILM or "minilm" in encoder.lower():
        return MINILM_L6
    return BERT_BASE  # the paper's BioBERT and other base-sized BERTs


def count_sentences_jsonl(path: str | Path) -> int:
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())


def count_sentences_tsv(path: Path) -> int:
    """Blank-line separated sentences of a token<TAB>tag file (read by the corpus reader, leniently)."""
    return len(read_iob(path, lenient=True))


def dataset_sizes(config: Config, dataset: str, data_root: str | Path | None = None) -> tuple[int, int]:
    """(train ∪ devel sentences, test sentences) of one dataset (module docstring: where they come from);
    `data_root` defaults to the configuration's own prepared data (results/<name>/data)."""
    prepared = DataFiles(f"{data_root if data_root is not None else grid.data_root(config)}/{dataset}")
    if Path(prepared.train).is_file() and Path(prepared.test).is_file():
        return count_sentences_jsonl(prepared.train), count_sentences_jsonl(prepared.test)
    data = as_params(config).data
    custom = data.custom_datasets.get(dataset)
    count = count_sentences_tsv
    if custom:
        files = {split: Path(getattr(custom, split)) for split in ("train", "devel", "test") if getattr(custom, split)}
        options = OwnCorpusOptions.from_entry(custom.model_dump())  # BioC/PubTator: the sentences their conversion gives
        count = lambda path: len(read_own_split(path, options, ConversionReport())[0])  # noqa: E731
    else:
        source = data.source
        try:
            files = {split: local_file(source, dataset, split) for split in ("train", "devel", "test")}
        except MtbionerError:  # not a local directory (e.g. the upstream URL): nothing here to count
            raise MtbionerError(f"cannot count the sentences of {dataset}: no prepared data in {prepared.root}, and "
                                f"data.source is not a local mirror ({source}); point data.source at a local "
                                "mirror, or run `snakemake all_data` first") from None
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise MtbionerError(f"cannot count the sentences of {dataset}: no prepared data in {prepared.root} and "
                            f"{', '.join(missing)} missing (point data.source at a local mirror, or run "
                            "`snakemake all_data` first)")
    train = sum(count(files[split]) for split in ("train", "devel") if split in files)
    return train, count(files["test"])


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
    checkpoint_jobs: int  # jobs whose checkpoints are on disk at once (a bound, = parallel jobs)
    checkpoint_every_minutes: float | None  # train.checkpoint_every_minutes (None: only when told to stop)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # dataset -> (train ∪ devel, test) sentences
    runs_per_gpu: int = 1  # K runs packed onto one GPU (module docstring)
    packed_train_throughput: float | None = None  # measured aggregate training sentences/s of K packed runs
    packing_efficiency: float = PACKING_EFFICIENCY  # used when packed_train_throughput is not given
    on_cpu: bool = False  # a CPU preset: the hours are 1-thread CPU job-hours at a CPU rate

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
    def checkpoint_gb(self) -> float:
        """One checkpoint: the model + AdamW's two moments (fp32, each the size of the weights)."""
        return 3 * self.encoder.model_mb / 1000

    def run_minutes(self, run: RunCost) -> float:
        """Wall minutes of one run at the cost's throughputs, slowed by packing (K runs share a GPU)."""
        seconds = run.train_passes / self.train_throughput + run.eval_passes / self.eval_throughput
        return seconds / 60 * self.runs_per_gpu / self.packing_speedup

    @property
    def checkpoint_writes(self) -> int:
        """Checkpoints the time policy writes: one per `checkpoint_every_minutes` of each run's wall time
        (none for a run shorter than that), not counting the one a stop signal asks for."""
        if self.checkpoint_every_minutes is None:
            return 0
        return sum(int(self.run_minutes(run) // self.checkpoint_every_minutes) for run in self.runs)

    @property
    def checkpoint_write_gb(self) -> float:
        return self.checkpoint_writes * self.checkpoint_gb

    @property
    def checkpoint_disk_gb(self) -> float:
        """Checkpoints on disk at once: one per running job that writes any (each keeps only its newest)."""
        return self.checkpoint_jobs * self.checkpoint_gb if self.checkpoint_writes else 0.0

    def hours(self, train_passes: int, eval_passes: int) -> float:
        """Device-hours of these sentence-passes at the cost's throughputs."""
        return (train_passes / self.train_throughput + eval_passes / self.eval_throughput) / 3600

    @property
    def device_hours(self) -> float:
        return self.hours(self.train_passes, self.eval_passes)

    @property
    def packing_speedup(self) -> float:
        """Aggregate throughput of `runs_per_gpu` packed runs over one run's (1 when not packed)."""
        if self.runs_per_gpu == 1:
            return 1.0
        if self.packed_train_throughput is not None:
            return self.packed_train_throughput / self.train_throughput
        return self.runs_per_gpu * self.packing_efficiency

    @property
    def packing_basis(self) -> str:
        if self.runs_per_gpu == 1:
            return "not packed"
        if self.packed_train_throughput is not None:
            return (f"measured: {self.packed_train_throughput:,.0f} training sentences/s of {self.runs_per_gpu} "
                    "runs on one GPU")
        return f"assumed packing efficiency {self.packing_efficiency:g}, not measured"

    def packed_hours(self, device_hours: float) -> float:
        """GPU-hours of work that takes `device_hours` unpacked, with `runs_per_gpu` runs sharing each GPU."""
        return device_hours / self.packing_speedup

    @property
    def packed_device_hours(self) -> float:
        return self.packed_hours(self.device_hours)


def grid_cost(config: Config, data_root: str | Path | None = None, train_throughput: float | None = None,
              eval_throughput: float | None = None, parallel_jobs: int = 1, runs_per_gpu: int = 1,
              packed_train_throughput: float | None = None,
              packing_efficiency: float = PACKING_EFFICIENCY) -> GridCost:
    if runs_per_gpu < 1:
        raise MtbionerError(f"--runs-per-gpu {runs_per_gpu}: must be at least 1")
    if packed_train_throughput is not None and (runs_per_gpu == 1 or packed_train_throughput <= 0):
        raise MtbionerError(f"--packed-throughput {packed_train_throughput:g}: the aggregate sentences/s of "
                            "--runs-per-gpu K > 1 runs sharing one GPU, so it needs K > 1 and a positive number")
    if not 0 < packing_efficiency <= 1:
        raise MtbionerError(f"--packing-efficiency {packing_efficiency:g}: must be in (0, 1]")
    params = as_params(config)
    encoder = encoder_cost(params.model.encoder)
    on_cpu = params.resources.train_gpus == 0  # a CPU preset: its jobs ask for no GPU
    if on_cpu and train_throughput is None:
        if encoder.cpu_train_sentences_per_second is None:
            raise MtbionerError(f"no CPU throughput is declared for encoder class {encoder.name}: a CPU preset "
                                "(resources.train_gpus: 0) needs --train-throughput (sentences/s of one job)")
        train_throughput = encoder.cpu_train_sentences_per_second
        eval_throughput = eval_throughput or encoder.cpu_eval_sentences_per_second
    limit = params.data.max_train_sentences
    max_test = params.eval.max_test_sentences
    sizes: dict[str, tuple[int, int]] = {}
    runs = []
    every_minutes = None
    for run in grid.expand_grid(config):
        if run.dataset not in sizes:
            sizes[run.dataset] = dataset_sizes(config, run.dataset, data_root)
        n_train, n_test = sizes[run.dataset]
        pool = min(n_train, limit) if limit else n_train
        sentences = fraction_size(pool, run.fraction)
        settings, epochs = run.config, run.config.train.epochs
        passes = epochs * passes_per_epoch(settings.tasks, settings.strategy) * sentences
        test = min(n_test, max_test) if max_test else n_test
        runs.append(RunCost(run, run_steps(settings, sentences), passes,
                            test * (epochs if settings.eval_every_epoch else 1), settings.save_model))
        every_minutes = settings.train.checkpoint_every_minutes  # train's, the same for every run of a grid
    return GridCost(runs, encoder, train_throughput or encoder.train_sentences_per_second,
                    eval_throughput or encoder.eval_sentences_per_second, parallel_jobs, every_minutes, sizes,
                    runs_per_gpu, packed_train_throughput, packing_efficiency, on_cpu)


def cost_table(cost: GridCost) -> str:
    """The Markdown table `mtbioner cost` prints (and docs/USAGE.md shows for the paper preset)."""
    by_dataset: dict[str, list[RunCost]] = {}
    for run in cost.runs:
        by_dataset.setdefault(run.run.dataset, []).append(run)
    packed = cost.runs_per_gpu > 1
    lines = ["| dataset | runs | optimizer steps | training sentence-passes | evaluation sentence-passes | "
             "models kept | device-hours |" + (f" GPU-hours, {cost.runs_per_gpu} runs per GPU |" if packed else ""),
             "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if packed else "")]

    def row(name: str, runs: list[RunCost]) -> str:
        train, evaluation = sum(r.train_passes for r in runs), sum(r.eval_passes for r in runs)
        hours = cost.hours(train, evaluation)
        return (f"| {name} | {len(runs)} | {sum(r.steps for r in runs):,} | {train:,} | {evaluation:,} | "
                f"{sum(r.keeps_model for r in runs)} | {hours:,.1f} |"
                + (f" {cost.packed_hours(hours):,.1f} |" if packed else ""))

    lines += [row(dataset, runs) for dataset, runs in by_dataset.items()]
    lines.append(row("**total**", cost.runs))
    device = "1-thread CPU job (a CPU preset)" if cost.on_cpu else "device"
    lines += ["", f"- encoder class: {cost.encoder.name}; throughput assumed: {cost.train_throughput:,.1f} training "
              f"and {cost.eval_throughput:,.1f} evaluation sentences/s per {device}",
              f"- disk: {cost.models_kept} kept models × {cost.encoder.model_mb:,.0f} MB = "
              f"{cost.model_disk_gb:,.1f} GB",
              f"- checkpoints: " + (f"every {cost.checkpoint_every_minutes:g} minutes of a run: "
                                    f"{cost.checkpoint_writes:,} writes of {cost.checkpoint_gb:,.2f} GB (model + "
                                    f"AdamW state) = {cost.checkpoint_write_gb:,.1f} GB written; "
                                    f"{cost.checkpoint_disk_gb:,.1f} GB on disk at once while "
                                    f"{cost.checkpoint_jobs} job(s) run"
                                    if cost.checkpoint_every_minutes is not None else "only when a job is told to stop")
              + "; plus one per job stopped by its time limit (SIGTERM)",
              f"- device-hours: {cost.device_hours:,.1f} (training + evaluation at the throughputs above"
              + ("; CPU job-hours: divide by the jobs running side by side for the wall time)" if cost.on_cpu else ")")]
    if packed:
        lines.append(f"- packed: {cost.runs_per_gpu} runs share each GPU, {cost.packing_speedup:.2f}× one run's "
                     f"throughput ({cost.packing_basis}): {cost.packed_device_hours:,.1f} GPU-hours")
    return "\n".join(lines)


def cost_json(cost: GridCost) -> str:
    return json.dumps({"runs": len(cost.runs), "optimizer_steps": cost.steps,
                       "train_sentence_passes": cost.train_passes, "eval_sentence_passes": cost.eval_passes,
                       "models_kept": cost.models_kept, "model_disk_gb": round(cost.model_disk_gb, 2),
                       "checkpoint_disk_gb": round(cost.checkpoint_disk_gb, 2),
                       "checkpoint_every_minutes": cost.checkpoint_every_minutes,
                       "checkpoint_writes": cost.checkpoint_writes,
                       "checkpoint_write_gb": round(cost.checkpoint_write_gb, 1),
                       "train_sentences_per_second": cost.train_throughput,
                       "eval_sentences_per_second": cost.eval_throughput,
                       "device_hours": round(cost.device_hours, 2), "encoder_class": cost.encoder.name,
                       "on_cpu": cost.on_cpu,
                       "runs_per_gpu": cost.runs_per_gpu, "packed_train_sentences_per_second":
                           cost.packed_train_throughput, "packing_speedup": round(cost.packing_speedup, 4),
                       "packing_basis": cost.packing_basis,
                       "packed_device_hours": round(cost.packed_device_hours, 2)}, indent=2)
