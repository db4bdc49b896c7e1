"""The quick preset's data stage and two training runs through `snakemake --profile profiles/slurm` on the
single-node test cluster of tests/slurm/start-slurm.sh (with accounting, so the plugin's sacct polling works).

    sudo tests/slurm/start-slurm.sh && pytest -m slurm tests/slurm; sudo tests/slurm/stop-slurm.sh

Skipped when no SLURM controller answers. Each SLURM job starts its own Snakemake (~5 s), so the first test
takes a minute or two; the trainings use the random `tiny` encoder on a slice of the quick preset's data. The
second test packs two more trainings into one SLURM job with the overlay profile profiles/slurm-packed,
reusing the first test's data stage (run alone, it builds that stage itself).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import CORPUS_MIRROR
from test_workflow import BIN, copy_workflow, env

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

RUNS = ["results/runs/NCBI-disease/baseline/frac100/seed1", "results/runs/NCBI-disease/joint-max/frac10/seed1"]
PACKED_RUNS = ["results/runs/NCBI-disease/baseline/frac10/seed1", "results/runs/NCBI-disease/joint-max/frac100/seed1"]
RUN_FILES = ["metrics.json", "epochs.jsonl", "config.json", "test_predictions.tsv", "test_sentences.jsonl"]
OVERLAY = {  # over config/quick.yaml: the tiny encoder keeps the jobs short
    "model": {"encoder": "tiny", "max_length": 64},
    "train": {"learning_rate": 1.0e-3, "epochs": 1, "per_dataset": {"NCBI-disease": {"learning_rate": 1.0e-3, "epochs": 1}}},
    "data": {"max_train_sentences": 40},
    "eval": {"max_test_sentences": 20},
    "grid": {"seeds": [1]},
}


def cluster_up() -> bool:
    if not shutil.which("scontrol") or not shutil.which("sacct"):
        return False
    return subprocess.run(["scontrol", "ping"], capture_output=True, text=True).returncode == 0


# Skipped on a developer machine without the test cluster; under CI (which starts it) a missing cluster fails.
needs_cluster = pytest.mark.skipif(not cluster_up() and not os.environ.get("CI"),
                                   reason="no SLURM controller (run tests/slurm/start-slurm.sh first)")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workflow, its profiles and the tiny overlay in a fresh directory, shared by this module's tests."""
    if not (CORPUS_MIRROR / "NCBI-disease-IOB").is_dir():
        pytest.fail(f"corpus mirror not available at {CORPUS_MIRROR}")
    workspace = copy_workflow(tmp_path_factory.mktemp("slurm"))
    shutil.copytree(Path(__file__).resolve().parents[2] / "profiles", workspace / "profiles")
    overlay = {**OVERLAY, "data": {**OVERLAY["data"], "source": str(CORPUS_MIRROR)}}
    (workspace / "config/slurm-test.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    return workspace


def run_snakemake(workspace: Path, *args: str, configfiles: tuple[str, ...] = ()) -> tuple[str, float]:
    """`snakemake ARGS` with the quick preset, the tiny overlay and CONFIGFILES over them on the test cluster:
    its log and seconds."""
    partition = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True).stdout.split()[0]
    environment = {**env(), "MTBIONER_SLURM_PARTITION": partition.rstrip("*"), "MTBIONER_SLURM_ACCOUNT": ""}
    started = time.monotonic()
    # Snakemake ignores SIGTERM while it waits for cluster jobs: stop it with SIGINT under the time limit.
    result = subprocess.run(
        ["timeout", "-s", "INT", "-k", "30", "540", str(BIN / "snakemake"), *args,
         "--configfile", "config/quick.yaml", "config/slurm-test.yaml", *configfiles,
         "--slurm-init-seconds-before-status-checks", "5"],
        cwd=workspace, env=environment, capture_output=True, text=True)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    return log, time.monotonic() - started


def job_stats(log: str) -> dict[str, int]:
    """Jobs per rule in the run's `Job stats:` table."""
    table = log.split("Job stats:", 1)[1].split("Select jobs", 1)[0]
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)}


def sacct_rows(log: str, *options: str, fields: str) -> list[dict[str, str]]:
    """sacct's rows for the SLURM jobs of the workflow run that wrote LOG (its jobs are named by its run ID)."""
    run_id = re.search(r"SLURM run ID: (\S+)", log)
    assert run_id, log[-3000:]
    names = fields.split(",")
    out = subprocess.run(["sacct", "-n", "-P", *options, f"--name={run_id.group(1)}", f"--format={fields}"],
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(names, line.split("|"))) for line in out.splitlines() if line]


def assert_run_complete(workspace: Path, run: str) -> None:
    for name in RUN_FILES:
        assert (workspace / run / name).stat().st_size > 0, f"{run}/{name}"
    metrics = json.loads((workspace / run / "metrics.json").read_text())
    assert metrics["epoch"] == 1 and "ner" in metrics


@needs_cluster
def test_quick_data_stage_and_trainings_run_as_slurm_jobs(workspace: Path) -> None:
    log, elapsed = run_snakemake(workspace, "all_data", *[f"{run}/metrics.json" for run in RUNS],
                                 "--profile", "profiles/slurm")
    print(f"SLURM workflow took {elapsed:.0f} s")

    # Outputs of the data stage (3 datasets + BC5CDR-disease for Table 1) and of the two runs.
    assert (workspace / "results/tables/table1.md").read_text().count("BC5CDR-chem") >= 1
    for dataset in ("BC2GM", "BC5CDR-chem", "NCBI-disease"):
        for fraction in (100, 50, 25, 10):
            assert (workspace / f"results/data/{dataset}/train.frac{fraction}.jsonl").stat().st_size > 0
    for run in RUNS:
        assert_run_complete(workspace, run)

    # Every job went through SLURM and is in the accounting database, completed.
    jobs = sacct_rows(log, "-X", fields="JobID,State,ExitCode")
    # Job stats table of the run: every rule but the target rule `all_data` (no shell, run locally) is a job.
    stats = job_stats(log)
    assert len(jobs) == sum(count for rule, count in stats.items() if rule not in ("total", "all_data")), jobs
    assert all(job["State"] == "COMPLETED" and job["ExitCode"] == "0:0" for job in jobs), jobs


@needs_cluster
def test_packed_profile_puts_two_gpu_trainings_into_one_slurm_job(workspace: Path) -> None:
    # One GPU per training (the paper preset's setting); the test cluster's node has one schedulable GPU slot.
    (workspace / "config/slurm-gpu.yaml").write_text(yaml.safe_dump({"resources": {"train_gpus": 1}}))
    log, elapsed = run_snakemake(workspace, *[f"{run}/metrics.json" for run in PACKED_RUNS],
                                 "--profile", "profiles/slurm", "--profile", "profiles/slurm-packed",
                                 "--group-components", "train=2", configfiles=("config/slurm-gpu.yaml",))
    print(f"packed SLURM run took {elapsed:.0f} s")
    for run in PACKED_RUNS:
        assert_run_complete(workspace, run)
    assert job_stats(log)["train"] == 2

    # The two trainings are one SLURM job (beside the data stage's jobs if this test ran alone) ...
    fields = "JobID,JobName,State,ExitCode,Timelimit,AllocTRES,Start,End"
    jobs = [job for job in sacct_rows(log, "-X", fields=fields) if job["JobID"].isdigit()]
    packed = [job for job in jobs if "gres/gpu" in job["AllocTRES"]]
    assert len(packed) == 1, jobs
    job = packed[0]
    assert job["State"] == "COMPLETED" and job["ExitCode"] == "0:0", job
    # ... sized for its trainings run one after another: one GPU, the memory of one training and the sum
    # of their runtimes (quick preset: 2 x train_runtime 30 min).
    resources = yaml.safe_load((workspace / "config/quick.yaml").read_text())["resources"]
    tres = dict(item.split("=", 1) for item in job["AllocTRES"].split(","))
    assert tres["gres/gpu"] == "1" and tres["mem"] == f"{resources['train_mem_mb']}M", tres
    hours, minutes = divmod(2 * resources["train_runtime"], 60)
    assert job["Timelimit"] == f"{hours:02d}:{minutes:02d}:00", job
    # ... and inside it the SLURM plugin ran each training as its own step, the second after the first.
    steps = [step for step in sacct_rows(log, fields=fields) if re.fullmatch(rf"{job['JobID']}\.\d+", step["JobID"])]
    assert len(steps) == 2 and all(step["State"] == "COMPLETED" for step in steps), steps
    assert steps[1]["Start"] >= steps[0]["End"], steps
