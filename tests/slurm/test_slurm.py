"""The quick preset's data stage and two training runs through `snakemake --profile profiles/slurm` on the
single-node test cluster of tests/slurm/start-slurm.sh (with accounting, so the plugin's sacct polling works).

    sudo tests/slurm/start-slurm.sh && pytest -m slurm tests/slurm; sudo tests/slurm/stop-slurm.sh

Skipped when no SLURM controller answers. Each SLURM job starts its own Snakemake (~5 s), so the test takes
a minute or two; the trainings use the random `tiny` encoder on a slice of the quick preset's data.
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
@pytest.mark.skipif(not cluster_up() and not os.environ.get("CI"),
                    reason="no SLURM controller (run tests/slurm/start-slurm.sh first)")
def test_quick_data_stage_and_trainings_run_as_slurm_jobs(tmp_path: Path) -> None:
    if not (CORPUS_MIRROR / "NCBI-disease-IOB").is_dir():
        pytest.fail(f"corpus mirror not available at {CORPUS_MIRROR}")
    workspace = copy_workflow(tmp_path)
    shutil.copytree(Path(__file__).resolve().parents[2] / "profiles", workspace / "profiles")
    overlay = {**OVERLAY, "data": {**OVERLAY["data"], "source": str(CORPUS_MIRROR)}}
    (workspace / "config/slurm-test.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    partition = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True).stdout.split()[0]
    environment = {**env(), "MTBIONER_SLURM_PARTITION": partition.rstrip("*"), "MTBIONER_SLURM_ACCOUNT": ""}

    started = time.monotonic()
    # Snakemake ignores SIGTERM while it waits for cluster jobs: stop it with SIGINT under the time limit.
    result = subprocess.run(
        ["timeout", "-s", "INT", "-k", "30", "540", str(BIN / "snakemake"), "all_data",
         *[f"{run}/metrics.json" for run in RUNS],
         "--profile", "profiles/slurm", "--configfile", "config/quick.yaml", "config/slurm-test.yaml",
         "--slurm-init-seconds-before-status-checks", "5"],
        cwd=workspace, env=environment, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    print(f"SLURM workflow took {elapsed:.0f} s")

    # Outputs of the data stage (3 datasets + BC5CDR-disease for Table 1) and of the two runs.
    assert (workspace / "results/tables/table1.md").read_text().count("BC5CDR-chem") >= 1
    for dataset in ("BC2GM", "BC5CDR-chem", "NCBI-disease"):
        for fraction in (100, 50, 25, 10):
            assert (workspace / f"results/data/{dataset}/train.frac{fraction}.jsonl").stat().st_size > 0
    for run in RUNS:
        metrics = json.loads((workspace / run / "metrics.json").read_text())
        assert metrics["epoch"] == 1 and "ner" in metrics

    # Every job went through SLURM and is in the accounting database, completed.
    run_id = re.search(r"SLURM run ID: (\S+)", log)
    assert run_id, log[-3000:]
    sacct = subprocess.run(["sacct", "-X", "-n", "-P", f"--name={run_id.group(1)}", "--format=JobID,State,ExitCode"],
                           capture_output=True, text=True, check=True).stdout.split()
    # Job stats table of the run: every rule but the target rule `all_data` (no shell, run locally) is a job.
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", log.split("Job stats:", 1)[1].split("Select jobs", 1)[0], flags=re.MULTILINE))
    jobs = sum(int(count) for rule, count in stats.items() if rule not in ("total", "all_data"))
    assert len(sacct) == jobs, sacct
    assert all(line.split("|")[1] == "COMPLETED" and line.split("|")[2] == "0:0" for line in sacct), sacct
