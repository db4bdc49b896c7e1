"""Where one training job's wall time goes: start-up and wind-down against the epochs and the scoring.

One run of a preset's grid (default: the quick preset's NCBI-disease joint-max frac100 seed13) is trained as
Snakemake would train it (the exact `mtbioner train` command of the train rule, read from Snakemake's dry run,
with its OMP_NUM_THREADS), once per source tree ("variant": a git revision, e.g. before and after a change), in
the same process tree and interleaved repeat by repeat, so a busy machine slows both alike. Per variant:

- `cli`: the job's command as a child process; its wall time and CPU time (what the job costs);
- `phases`: the same command run in-process by a child (`mtbioner.cli.main()` with the job's arguments) after
  the trainer's own functions are wrapped in timers: process start
  (interpreter up to the first statement), imports, data reading, tokenisation, encoder/tokenizer loading,
  epochs (the trainer's own `train_seconds` in epochs.jsonl), evaluation (test scoring: every epoch when
  `eval_every_epoch`), writing outputs (model, predictions, checkpoints), the rest of `train_run` (model and
  optimizer set-up, config.json, metrics.json, logging) and the exit (the verb's echo and however the process
  ends: the interpreter's teardown, or none);
- `imports`: `python -X importtime` of the same imports, self time summed per top-level package;
- `snakemake` (with --snakemake): `snakemake <run> --forcerun train --cores 1` in a clone, its wall time and
  the job's own wall time from the rule's benchmark file: the difference is Snakemake's overhead (start-up,
  DAG, job spawn) around that one job.

Every phase is reported as wall and CPU seconds (the median over repeats), and as the ratio of the last variant
(the candidate) over the first (the baseline). The variants' metrics.json files (timing keys aside) must be
identical: a start-up change must not change what is trained.

    python benchmarks/startup.py --preset quick --variant before=REV --variant after=HEAD --repeats 2 \\
        --snakemake --data-source ../shared/datasets/MTL-Bioinformatics-2016/data \\
        --out benchmarks/results/startup_quick.json

Everything is written under a temporary directory (a clone of this repository and `git archive`s of the
variants' src/), never into this checkout's results/.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMING_KEYS = ("train_seconds", "train_sentences_per_second")
#: What `mtbioner train` imports before it trains: the CLI app (every verb registered) and the train verb's
#: own imports (cli/train.py imports these inside the verb).
CLI_IMPORTS = ("import mtbioner.cli; from mtbioner.run.config import RunConfig; "
               "from mtbioner.training.trainer import train_run")
#: Modules whose presence after those imports is reported (sys.modules): the ones a training job need not load.
WATCHED_MODULES = ("sklearn", "pandas", "seqeval", "scipy", "matplotlib", "rich", "typer", "pydantic",
                   "torch.distributed.tensor")
PHASES = ("process start", "imports", "data reading", "tokenisation", "encoder/tokenizer loading", "epochs",
          "evaluation", "writing outputs", "rest of train_run", "exit")
#: Phases that are not training: the issue's target ("everything but the epochs and the final scoring").
NOT_TRAINING = tuple(phase for phase in PHASES if phase not in ("epochs", "evaluation"))


# ---------------------------------------------------------------------------------------------- child side
def _child(spec_file: Path) -> None:
    """Runs in a fresh interpreter: the instrumented training of one run; writes its phases to spec['result']."""
    first_wall, first_cpu = time.time(), time.process_time()
    spec = json.loads(spec_file.read_text())
    started = time.perf_counter()
    exec(CLI_IMPORTS, {})
    from mtbioner.training import trainer

    imports_wall, imports_cpu = time.perf_counter() - started, time.process_time() - first_cpu
    loaded = sorted(name for name in WATCHED_MODULES if name in sys.modules)
    seconds: dict[str, list[float]] = {phase: [0.0, 0.0, 0] for phase in PHASES}

    def timed(phase: str, function):
        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                entry = seconds[phase]
                entry[0] += time.perf_counter() - wall
                entry[1] += time.process_time() - cpu
                entry[2] += 1
        return wrapper

    # The trainer calls these through its module's globals, so wrapping them there times every call; a name a
    # refactor renamed is simply left in "rest of train_run" (listed as not separated).
    wrapped = {"_read_data": "data reading", "encode_examples": "tokenisation",
               "load_encoder_with_casing": "encoder/tokenizer loading", "_evaluate": "evaluation",
               "write_test_outputs": "writing outputs", "save_checkpoint": "writing outputs"}
    missing = []
    for name, phase in wrapped.items():
        if hasattr(trainer, name):
            setattr(trainer, name, timed(phase, getattr(trainer, name)))
        else:
            missing.append(name)
    model_class = getattr(trainer, "MultiTaskModel")
    model_class.save_pretrained = timed("writing outputs", model_class.save_pretrained)

    def finish(run_wall: float, run_cpu: float) -> None:
        epochs = [json.loads(line) for line in Path(spec["out_dir"], "epochs.jsonl").read_text().splitlines()]
        seconds["epochs"] = [sum(record["train_seconds"] for record in epochs), None, len(epochs)]
        inside = sum(seconds[phase][0] for phase in set(wrapped.values())) + seconds["epochs"][0]
        seconds["rest of train_run"] = [run_wall - inside, None, 1]
        Path(spec["result"]).write_text(json.dumps({
            "first_statement_epoch": first_wall, "interpreter_cpu": first_cpu,
            "imports": [imports_wall, imports_cpu], "loaded_modules": loaded, "not_separated": missing,
            "phases": seconds, "train_run": [run_wall, run_cpu], "end_epoch": time.time(),
            "end_cpu": time.process_time()}))

    original_train_run = trainer.train_run

    def train_run(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original_train_run(*args, **kwargs)
        finally:  # written here: the command may end its process without returning (the "exit" phase)
            finish(time.perf_counter() - wall, time.process_time() - cpu)

    trainer.train_run = train_run  # the train verb imports it from the module when it runs
    import mtbioner.cli

    # From here on this is the job: the train verb's own code (config parsing, logging, train_run, its echo)
    # and however the command ends its process.
    sys.argv = ["mtbioner", "train", "--out-dir", spec["out_dir"], "--config-json", spec["config_json"]]
    mtbioner.cli.main()


# --------------------------------------------------------------------------------------------- parent side
def _run(command: list[str] | str, env: dict, cwd: Path, log: Path | None = None, shell: bool = False) -> dict:
    """Run a child; its wall time (this process's clock) and CPU time (rusage of the children)."""
    before = os.times()
    started = time.perf_counter()
    with open(log, "w") if log else open(os.devnull, "w") as sink:
        completed = subprocess.run(command, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, shell=shell)
    wall = time.perf_counter() - started
    after = os.times()
    if completed.returncode != 0:
        tail = log.read_text()[-3000:] if log else ""
        raise SystemExit(f"failed ({completed.returncode}): {command}\n{tail}")
    return {"wall": wall, "cpu": (after.children_user - before.children_user)
            + (after.children_system - before.children_system)}


def _variant_tree(workdir: Path, name: str, spec: str) -> Path:
    """src/ of a variant, importable through PYTHONPATH ahead of the editable install. `spec` is a revision
    (git archive of this repository), optionally with files taken from another: `REV:PATH@REV2,PATH@REV2`
    (e.g. the candidate with only the changed modules as they were, so no one else's commits differ)."""
    rev, _, overrides = spec.partition(":")
    target = workdir / f"src-{name}"
    target.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    for override in filter(None, overrides.split(",")):
        path, _, source = override.partition("@")
        content = subprocess.run(["git", "-C", str(ROOT), "show", f"{source}:{path}"], check=True,
                                 capture_output=True).stdout
        (target / path).write_bytes(content)
    return target / "src"


def _describe(spec: str) -> str:
    """A variant's spec with its revisions resolved to short hashes."""
    rev, _, overrides = spec.partition(":")
    parts = [f"{path}@{_git_rev(source)}" for path, _, source in
             (item.partition("@") for item in filter(None, overrides.split(",")))]
    return _git_rev(rev) + (":" + ",".join(parts) if parts else "")


def _git_rev(rev: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True, capture_output=True,
                          text=True).stdout.strip()


def _env(src: Path, threads: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    env.pop("PYTHONSTARTUP", None)
    if threads is not None:
        env["OMP_NUM_THREADS"] = threads
    return env


def _snakemake_args(args: argparse.Namespace) -> list[str]:
    extra = ["--configfile", f"config/{args.preset}.yaml"]
    if args.data_source:
        extra += ["--config", f"data={{source: {Path(args.data_source).resolve()}}}"]
    return ["--cores", "1", *extra]


def _job_command(clone: Path, env: dict, target: str, args: argparse.Namespace) -> tuple[str, dict, str]:
    """The train rule's shell command for the run, from Snakemake's own dry run: (threads, config, out_dir)."""
    dry = subprocess.run(["snakemake", target, "-n", "-p", "--forcerun", "train", *_snakemake_args(args)],
                         env=env, cwd=clone, capture_output=True, text=True)
    line = next((line for line in dry.stdout.splitlines() if "mtbioner train" in line), None)
    if line is None:
        raise SystemExit(f"no train command in Snakemake's dry run:\n{dry.stdout[-3000:]}{dry.stderr[-3000:]}")
    words = shlex.split(line.split("Shell command:", 1)[-1].split(" > ", 1)[0])
    threads = next((word.split("=", 1)[1] for word in words if word.startswith("OMP_NUM_THREADS=")), None)
    config = json.loads(words[words.index("--config-json") + 1])
    return threads, config, words[words.index("--out-dir") + 1]


def _import_profile(env: dict, cwd: Path) -> dict[str, float]:
    """Self time of every imported module, summed per top-level package (seconds), from -X importtime."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", CLI_IMPORTS], env=env, cwd=cwd,
                            capture_output=True, text=True, check=True)
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s+(\S.*)$", line)
        if match:
            package = match.group(3).strip().split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1e6
    return dict(sorted(((k, round(v, 3)) for k, v in totals.items() if v >= 0.01), key=lambda kv: -kv[1]))


def _metrics(run_dir: Path) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {key: value for key, value in metrics.items() if key not in TIMING_KEYS}


def _phase_table(result: dict, wall: float) -> dict[str, dict]:
    """One phases run as {phase: {"wall", "cpu"}} (cpu None where the phase is not a span of this process)."""
    phases = {phase: {"wall": value[0], "cpu": value[1], "calls": value[2]}
              for phase, value in result["phases"].items()}
    phases["process start"] = {"wall": result["first_statement_epoch"] - result["spawned_epoch"],
                               "cpu": result["interpreter_cpu"], "calls": 1}
    phases["imports"] = {"wall": result["imports"][0], "cpu": result["imports"][1], "calls": 1}
    phases["exit"] = {"wall": result["exited_epoch"] - result["end_epoch"],
                      "cpu": result["child_cpu"] - result["end_cpu"], "calls": 1}
    phases["total"] = {"wall": wall, "cpu": result["child_cpu"], "calls": 1}
    phases["not training"] = {"wall": sum(phases[phase]["wall"] for phase in NOT_TRAINING), "cpu": None,
                              "calls": 1}
    return phases


def _median(values: list[float | None]) -> float | None:
    values = [value for value in values if value is not None]
    return round(statistics.median(values), 3) if values else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--preset", default="quick", help="config/<preset>.yaml")
    parser.add_argument("--run", default="NCBI-disease/joint-max/frac100/seed13",
                        help="DATASET/EXPERIMENT/fracF/seedS of the preset's grid")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=REV",
                        help="a source tree to measure: a git revision, optionally REV:PATH@REV2,... (files from "
                             "another revision); the first is the baseline, the last the candidate of the ratios "
                             "(default: before=HEAD~1, after=HEAD)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repeats per variant")
    parser.add_argument("--epochs", type=int, help="override the run's epochs (stated in the output)")
    parser.add_argument("--snakemake", action="store_true", help="also time the run as a Snakemake job")
    parser.add_argument("--skip-cli", action="store_true",
                        help="only the instrumented run per repeat, not also the plain job command (long runs)")
    parser.add_argument("--data-source", help="data.source: a local corpus mirror (…/MTL-Bioinformatics-2016/data)")
    parser.add_argument("--workdir", type=Path, help="where the clone and runs go (default: a new temp dir)")
    parser.add_argument("--out", type=Path, required=False, help="JSON result file")
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return

    variants = [tuple(text.split("=", 1)) for text in (args.variant or ["before=HEAD~1", "after=HEAD"])]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mtbioner-startup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    revs = {name: _describe(spec) for name, spec in variants}
    trees = {name: _variant_tree(workdir, name, rev) for name, rev in variants}
    candidate = variants[-1][0]
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", revs[candidate].split(":")[0]], check=True)
    tree = f"results/{args.preset}"  # the preset's results tree (its `name` is its file's name)
    target = f"{tree}/runs/{args.run}/metrics.json"
    dataset, _, fraction, _ = args.run.split("/")
    data_env = _env(trees[candidate], None)
    print(f"[startup] workdir {workdir}; preparing {dataset} with Snakemake", file=sys.stderr)
    data_targets = [f"{tree}/data/{dataset}/train.{fraction}.jsonl", f"{tree}/data/{dataset}/test.jsonl",
                    f"{tree}/data/{dataset}/labels.json"]
    _run(["snakemake", *data_targets, *_snakemake_args(args)], data_env, clone, workdir / "data.log")
    threads, config, job_out_dir = _job_command(clone, data_env, target, args)
    if args.epochs is not None:
        config["epochs"] = args.epochs
    config_json = json.dumps(config, sort_keys=True)

    load_before = os.getloadavg()
    results: dict[str, dict] = {name: {"rev": revs[name], "cli": [], "phases": [], "loaded_modules": None}
                                for name, _ in variants}
    metrics: dict[str, dict] = {}
    for repeat in range(args.repeats):
        for name, _ in variants:
            env = _env(trees[name], threads)
            if not args.skip_cli:
                out_dir = clone / "bench" / f"{name}-cli-{repeat}"
                print(f"[startup] repeat {repeat + 1}/{args.repeats} {name}: job command", file=sys.stderr)
                timing = _run(["mtbioner", "train", "--out-dir", str(out_dir), "--config-json", config_json],
                              env, clone, workdir / f"{name}-cli-{repeat}.log")
                results[name]["cli"].append({key: round(value, 3) for key, value in timing.items()})
                metrics[f"{name}-cli-{repeat}"] = _metrics(out_dir)

            out_dir = clone / "bench" / f"{name}-phases-{repeat}"
            spec = workdir / f"{name}-phases-{repeat}.json"
            spec.write_text(json.dumps({"config_json": config_json, "out_dir": str(out_dir),
                                        "result": str(workdir / f"{name}-phases-{repeat}.result.json")}))
            print(f"[startup] repeat {repeat + 1}/{args.repeats} {name}: phases", file=sys.stderr)
            spawned = time.time()
            timing = _run([sys.executable, str(Path(__file__).resolve()), "--child", str(spec)], env, clone,
                          workdir / f"{name}-phases-{repeat}.log")
            result = json.loads((workdir / f"{name}-phases-{repeat}.result.json").read_text())
            result.update(spawned_epoch=spawned, exited_epoch=spawned + timing["wall"], child_cpu=timing["cpu"])
            results[name]["phases"].append(_phase_table(result, timing["wall"]))
            results[name]["loaded_modules"] = result["loaded_modules"]
            results[name]["not_separated"] = result["not_separated"]
            metrics[f"{name}-phases-{repeat}"] = _metrics(out_dir)
    for name, _ in variants:
        results[name]["imports_by_package"] = _import_profile(_env(trees[name], threads), clone)

    if args.snakemake:
        benchmark_file = clone / "results" / "benchmarks" / "train" / f"{args.run}.tsv"
        for name, _ in variants:
            print(f"[startup] {name}: snakemake job", file=sys.stderr)
            timing = _run(["snakemake", target, "--forcerun", "train", *_snakemake_args(args)],
                          _env(trees[name], None), clone, workdir / f"{name}-snakemake.log")
            header, values = benchmark_file.read_text().splitlines()[:2]
            cli_median = _median([entry["wall"] for entry in results[name]["cli"]])
            job = dict(zip(header.split("\t"), values.split("\t")))
            results[name]["snakemake"] = {
                "snakemake_wall": round(timing["wall"], 3), "job_wall": float(job["s"]),
                "job_cpu": float(job["cpu_time"]), "outside_job": round(timing["wall"] - float(job["s"]), 3),
                "job_minus_cli_median": round(float(job["s"]) - cli_median, 3) if cli_median is not None else None,
                "same_config_as_phases": args.epochs is None}  # an epochs override does not reach Snakemake
            if args.epochs is None:
                metrics[f"{name}-snakemake"] = _metrics(clone / job_out_dir)

    summary = {}
    for name, _ in variants:
        runs = results[name]["phases"]
        summary[name] = {phase: {"wall": _median([run[phase]["wall"] for run in runs]),
                                 "cpu": _median([run[phase]["cpu"] for run in runs])}
                         for phase in (*PHASES, "not training", "total")}
        summary[name]["job command"] = {"wall": _median([entry["wall"] for entry in results[name]["cli"]]),
                                        "cpu": _median([entry["cpu"] for entry in results[name]["cli"]])}
    baseline = variants[0][0]
    ratios = {phase: {kind: (round(summary[candidate][phase][kind] / summary[baseline][phase][kind], 3)
                             if summary[candidate][phase][kind] and summary[baseline][phase][kind] else None)
                      for kind in ("wall", "cpu")} for phase in summary[candidate]}
    reference = next(iter(metrics.values()))
    identical = all(value == reference for value in metrics.values())
    output = {
        "benchmark": "benchmarks/startup.py",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": (f"{os.cpu_count()}-core dev machine, shared with other agents' work "
                    f"({platform.processor() or platform.machine()})"),
        "load_average": {"before": [round(x, 2) for x in load_before],
                         "after": [round(x, 2) for x in os.getloadavg()]},
        "preset": args.preset, "run": args.run, "epochs": config["epochs"],
        "epochs_override": args.epochs, "omp_num_threads": threads, "repeats": args.repeats,
        "variants": {name: revs[name] for name, _ in variants}, "baseline": baseline, "candidate": candidate,
        "summary_median_seconds": summary, "ratio_candidate_over_baseline": ratios,
        "metrics_identical_across_variants": identical, "runs": results,
    }
    text = json.dumps(output, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(_table(output))
    if not identical:
        raise SystemExit("metrics.json differ between variants: " + json.dumps(metrics, indent=1)[:3000])


def _table(output: dict) -> str:
    baseline, candidate = output["baseline"], output["candidate"]
    summary, ratios = output["summary_median_seconds"], output["ratio_candidate_over_baseline"]
    lines = [f"{output['preset']} {output['run']} ({output['epochs']} epochs), median of {output['repeats']}, "
             f"wall s ({baseline} {output['variants'][baseline]} -> {candidate} {output['variants'][candidate]})",
             f"| phase | {baseline} | {candidate} | {candidate}/{baseline} |", "|---|---:|---:|---:|"]
    for phase in summary[candidate]:
        lines.append(f"| {phase} | {summary[baseline][phase]['wall']} | {summary[candidate][phase]['wall']} | "
                     f"{ratios[phase]['wall']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
