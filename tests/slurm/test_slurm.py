"""The quick preset's data stage and two training runs through `snakemake --profile profiles/slurm` on the
single-node test cluster of tests/slurm/start-slurm.sh (with accounting, so the plugin's sacct polling works).

    sudo tests/slurm/start-slurm.sh && pytest -m slurm tests/slurm; sudo tests/slurm/stop-slurm.sh

Skipped when no SLURM controller answers. Each SLURM job starts its own Snakemake (~5 s), so the first test
takes a minute or two; the trainings use the random `tiny` encoder on a slice of the quick preset's data. The
second test runs two more trainings with the overlay profile profiles/slurm-shared: each its own SLURM job on a
GPU shard, both at once on the cluster's one GPU slot (two shards), reusing the first test's data stage (run
alone, it builds that stage itself).
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

RUNS = ["results/quick/runs/NCBI-disease/baseline/frac100/seed1", "results/quick/runs/NCBI-disease/joint-max/frac10/seed1"]
SHARED_RUNS = ["results/quick/runs/NCBI-disease/baseline/frac10/seed1", "results/quick/runs/NCBI-disease/joint-max/frac100/seed1"]
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
    assert (workspace / "results/quick/tables/table1.md").read_text().count("BC5CDR-chem") >= 1
    for dataset in ("BC2GM", "BC5CDR-chem", "NCBI-disease"):
        for fraction in (100, 50, 25, 10):
            assert (workspace / f"results/quick/data/{dataset}/train.frac{fraction}.jsonl").stat().st_size > 0
    for run in RUNS:
        assert_run_complete(workspace, run)

    # Every job went through SLURM and is in the accounting database, completed.
    jobs = sacct_rows(log, "-X", fields="JobID,State,ExitCode")
    # Job stats table of the run: every rule but the target rule `all_data` (no shell, run locally) is a job.
    stats = job_stats(log)
    assert len(jobs) == sum(count for rule, count in stats.items() if rule not in ("total", "all_data")), jobs
    assert all(job["State"] == "COMPLETED" and job["ExitCode"] == "0:0" for job in jobs), jobs


@needs_cluster
def test_shared_profile_runs_two_gpu_trainings_as_jobs_on_one_gpu_at_once(workspace: Path) -> None:
    # One GPU per training in the preset (the paper preset's setting); profiles/slurm-shared asks for a GPU
    # shard instead, and the test cluster's one GPU has two shards: both trainings hold one at the same time.
    (workspace / "config/slurm-gpu.yaml").write_text(yaml.safe_dump({"resources": {"train_gpus": 1}}))
    log, elapsed = run_snakemake(workspace, *[f"{run}/metrics.json" for run in SHARED_RUNS],
                                 "--profile", "profiles/slurm", "--profile", "profiles/slurm-shared",
                                 configfiles=("config/slurm-gpu.yaml",))
    print(f"shared SLURM run took {elapsed:.0f} s")
    for run in SHARED_RUNS:
        assert_run_complete(workspace, run)
    assert job_stats(log)["train"] == 2

    fields = "JobID,JobName,State,ExitCode,AllocTRES,Start,End"
    jobs = [job for job in sacct_rows(log, "-X", fields=fields) if job["JobID"].isdigit()]
    trainings = [job for job in jobs if "gres/shard" in job["AllocTRES"]]
    assert len(trainings) == 2, jobs  # each training its own SLURM job ...
    for job in trainings:
        tres = dict(item.split("=", 1) for item in job["AllocTRES"].split(","))
        assert job["State"] == "COMPLETED" and job["ExitCode"] == "0:0", job
        assert tres["gres/shard"] == "1" and "gres/gpu" not in tres, tres  # ... on a shard, not a whole GPU
    first, second = sorted(trainings, key=lambda job: job["Start"])
    assert second["Start"] < first["End"], trainings  # ... and both ran at once on the one GPU


def test_every_slurm_job_asks_for_sigterm_before_its_time_limit() -> None:
    """The profile asks SLURM for SIGTERM 120 s before the limit (a training checkpoints and exits on it);
    the plugin passes slurm_extra to sbatch as it is."""
    profile = yaml.safe_load((Path(__file__).resolve().parents[2] / "profiles/slurm/config.yaml").read_text())
    assert profile["default-resources"]["slurm_extra"] == "--signal=TERM@120"
    shared = yaml.safe_load((Path(__file__).resolve().parents[2] / "profiles/slurm-shared/config.yaml").read_text())
    # the overlay sets only set-resources (a later --profile replaces whole top-level keys, so anything else would
    # drop the signal): a GPU shard for each rule that uses a GPU, training and corpus tagging
    assert shared == {"set-resources": {rule: {"gpu": 0, "gres": "shard:1"} for rule in ("train", "tag")}}


@needs_cluster
def test_tagging_a_corpus_runs_one_slurm_job_per_file_after_the_training_it_needs(workspace: Path) -> None:
    """all_tag under profiles/slurm: `tag.model` names a run of the grid, so its training (which now keeps its
    model) runs first as a SLURM job, then each input file is tagged by its own SLURM job and the summary
    gathers them (issue 34: the stage runs as SLURM jobs under the existing profiles)."""
    from conftest import write_standoff_slice

    corpus = workspace / "tag-corpus"
    corpus.mkdir(exist_ok=True)
    write_standoff_slice(corpus / "a.pubtator", "NCBI-disease", "test", 0, 12, "pubtator")
    write_standoff_slice(corpus / "b.xml", "NCBI-disease", "test", 12, 8, "bioc")
    overlay = {"tag": {"model": "NCBI-disease/joint-max/10/1", "inputs": "tag-corpus", "format": "pubtator"}}
    (workspace / "config/slurm-tag.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    log, elapsed = run_snakemake(workspace, "all_tag", "--profile", "profiles/slurm",
                                 configfiles=("config/slurm-tag.yaml",))
    print(f"SLURM tagging took {elapsed:.0f} s")

    stats = job_stats(log)
    assert stats["tag"] == 2 and stats["tag_summary"] == 1, stats
    tagged = workspace / "results/quick/tagged"
    assert (tagged / "a.pubtator").stat().st_size > 0 and (tagged / "b.xml").stat().st_size > 0
    assert (workspace / RUNS[1] / "model").is_dir()  # the named run keeps its model for the tagging jobs
    summary = (tagged / "summary.tsv").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[0] for line in summary[1:]] == ["a.pubtator", "b.xml"], summary
    jobs = sacct_rows(log, "-X", fields="JobID,JobName,State,ExitCode")
    assert len(jobs) == sum(count for rule, count in stats.items() if rule not in ("total", "all_tag")), jobs
    assert all(job["State"] == "COMPLETED" and job["ExitCode"] == "0:0" for job in jobs), jobs
