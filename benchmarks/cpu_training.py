"""How to train on a CPU: two 1-thread jobs or one 2-thread job, and bf16 autocast or fp32 — with the F1 cost.

Backs two settings of config/cpu.yaml with measurements of the real trainer (`mtbioner train`, one process per
run, as Snakemake runs it), on the preset's own NCBI-disease 10 % configuration:

1. Parallelism (baseline = one job with 2 threads): the machine's training throughput (sentences/s summed
   over the jobs running) of two 1-thread jobs side by side, in fp32 and bf16; one epoch each.
2. Precision (baseline = fp32): the preset's joint-max run at 10 % of NCBI-disease (all its epochs, full test
   set) with 3 seeds in fp32 and in bf16 autocast: test NER F1 mean ± std of both, and the throughput ratio.
   The preset may use bf16 only if |mean F1(bf16) − mean F1(fp32)| <= the seed std of the fp32 runs.

Needs the preset's prepared data (`snakemake --cores 2 all_data --configfile config/cpu.yaml --config
'data={source: <mirror>/data}'`). On a 2-core machine part 1 takes ~3 min and part 2 ~12 min:

    .venv/bin/python benchmarks/cpu_training.py --out benchmarks/results/cpu_training.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mtbioner.plan import grid
from mtbioner.params import load_params
from mtbioner.run.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]


def preset_config(preset: str, dataset: str, experiment: str, fraction: int, seed: int, **changes) -> RunConfig:
    """The RunConfig the preset gives this run, with `changes` (e.g. precision) applied."""
    config = load_params(ROOT, [preset])
    run = grid.find_run(config, dataset, experiment, fraction, seed)
    fields = grid.run_config(config, run).to_json_dict()
    for key in ("train_file", "test_file", "labels_file"):
        fields[key] = str(ROOT / fields[key])
        if not Path(fields[key]).is_file():
            sys.exit(f"{fields[key]} is missing: prepare the preset's data first (see this file's docstring)")
    fields.update(changes)
    return RunConfig.model_validate(fields)


def train(config: RunConfig, out_dir: Path, threads: int) -> dict:
    """One `mtbioner train` process with `threads` torch threads; its final metrics and epoch records."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mtbioner", "train", "--out-dir", str(out_dir),
                    "--config-json", json.dumps(config.to_json_dict())],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    epochs = [json.loads(line) for line in (out_dir / "epochs.jsonl").read_text().splitlines() if line.strip()]
    metrics = json.loads((out_dir / "metrics.json").read_text())
    return {"f1": metrics["ner"]["f1"], "wall_seconds": time.perf_counter() - started,
            "train_seconds": sum(e["train_seconds"] for e in epochs),
            "sentences_per_second": statistics.fmean(e["train_sentences_per_second"] for e in epochs)}


def parallelism(preset: str, work: Path) -> dict:
    results = {}
    for precision in ("fp32", "bf16"):
        config = preset_config(preset, "NCBI-disease", "joint-max", 10, 13, precision=precision, epochs=1)
        one = train(config, work / f"par-{precision}-2threads", threads=2)
        with ThreadPoolExecutor(2) as pool:
            both = list(pool.map(lambda i: train(config, work / f"par-{precision}-1thread-{i}", threads=1), (0, 1)))
        side_by_side = sum(job["sentences_per_second"] for job in both)
        results[precision] = {"one_job_2_threads": one["sentences_per_second"],
                              "two_jobs_1_thread": side_by_side,
                              "ratio": side_by_side / one["sentences_per_second"]}
        print(f"{precision}: one 2-thread job {one['sentences_per_second']:.1f} sentences/s; two 1-thread jobs "
              f"{side_by_side:.1f} sentences/s together: ratio {results[precision]['ratio']:.2f}x", flush=True)
    return results


def precision(preset: str, work: Path, seeds: list[int]) -> dict:
    jobs = [(precision, seed) for seed in seeds for precision in ("fp32", "bf16")]

    def run(job):
        name, seed = job
        config = preset_config(preset, "NCBI-disease", "joint-max", 10, seed, precision=name)
        return job, train(config, work / f"prec-{name}-{seed}", threads=1)

    with ThreadPoolExecutor(2) as pool:  # two 1-thread jobs at a time, as the preset runs them
        done = dict(pool.map(run, jobs))
    summary: dict = {}
    for name in ("fp32", "bf16"):
        f1s = [done[(name, seed)]["f1"] * 100 for seed in seeds]
        speed = [done[(name, seed)]["sentences_per_second"] for seed in seeds]
        summary[name] = {"f1_by_seed": dict(zip(map(str, seeds), f1s)), "f1_mean": statistics.fmean(f1s),
                         "f1_std": statistics.stdev(f1s) if len(f1s) > 1 else 0.0,
                         "sentences_per_second": statistics.fmean(speed)}
    difference = summary["bf16"]["f1_mean"] - summary["fp32"]["f1_mean"]
    summary["f1_difference"] = difference
    summary["throughput_ratio"] = summary["bf16"]["sentences_per_second"] / summary["fp32"]["sentences_per_second"]
    summary["bf16_allowed"] = abs(difference) <= summary["fp32"]["f1_std"]
    for name in ("fp32", "bf16"):
        s = summary[name]
        print(f"{name}: NER F1 {s['f1_mean']:.2f} ± {s['f1_std']:.2f} (seeds {', '.join(f'{v:.2f}' for v in s['f1_by_seed'].values())}), "
              f"{s['sentences_per_second']:.1f} sentences/s per 1-thread job", flush=True)
    print(f"bf16 / fp32 throughput: {summary['throughput_ratio']:.2f}x; F1 difference {difference:+.2f} vs fp32 seed "
          f"std {summary['fp32']['f1_std']:.2f}: bf16 {'allowed' if summary['bf16_allowed'] else 'NOT allowed'}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="config/cpu.yaml")
    parser.add_argument("--seeds", default="13,42,87")
    parser.add_argument("--skip-parallelism", action="store_true")
    parser.add_argument("--skip-precision", action="store_true")
    parser.add_argument("--out", type=Path, help="write the numbers as JSON here")
    args = parser.parse_args()
    results: dict = {"preset": args.preset, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="mtbioner-cpu-bench-") as tmp:
        if not args.skip_parallelism:
            results["parallelism"] = parallelism(args.preset, Path(tmp))
        if not args.skip_precision:
            results["precision"] = precision(args.preset, Path(tmp), [int(s) for s in args.seeds.split(",")])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
