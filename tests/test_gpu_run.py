"""The prepared device call, rehearsed on the CPU: the bundle built by benchmarks/gpu_bundle.py, installed with
no index into a fresh venv outside the checkout that sees only the bundle and the GPU image's packages, then
the very same benchmarks/gpu_run.sh with a tiny overlay — the GPU check (--skip-cuda) at the preset's encoder shape with every planned K of
packing (a first call with --parts 0), a second call whose deadline cuts part 1 while it trains (SIGTERM:
checkpoints, no Snakemake lock, the archives packed), a third call that resumes from the checkpoints and runs
every part, the products packed within the device tool's limits, and a fourth that finds everything done. It catches every
failure but CUDA's own: a package the image lacks and the bundle forgot, a corpus file left out, a path that only exists in the checkout, an archive over the limits.

Also the part planner's rules (no subprocess): parts are prefixes of the claims, each with the blocks it names,
and a part starts only when its estimate fits."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import tarfile
import time
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_bundle  # noqa: E402
import gpu_run  # noqa: E402

from mtbioner.params import load_params  # noqa: E402

TINY = """\
data: {max_train_sentences: 40}
eval: {max_test_sentences: 24}
train:
  epochs: 1
  per_dataset: {NCBI-disease: {learning_rate: 1.0e-5, epochs: 1}}
grid: {seeds: [13]}
resources: {train_mem_mb: 2000}
report: {verdict_samples: 200}
"""


#: Epochs of part 1's two trainings (NCBI-disease, 10 % of 40 sentences: one step an epoch, about a fifteenth
#: of a training job's start-up), and when the second call's deadline falls, in start-ups measured just before
#: it (a fresh interpreter importing torch and the trainer: the machine's speed now, which on a shared machine
#: varies several-fold). Part 1 is the one a budget can cut mid-training: the first part of a call always
#: starts, a later one only when its estimate fits. Measured 2026-12-08: its data jobs (Table 1 needs four
#: datasets) took 3 to 8 start-ups and its first training about 10 more: the deadline falls in it.
LONG_EPOCHS = 150
DEADLINE_STARTUPS = 11


def tiny_overlay() -> str:
    """TINY plus the preset's own grid blocks, in order and by name, with one epoch each (part 1's block
    LONG_EPOCHS): a block's `train` overrides (alternating's 25 epochs) beat the overlay's epochs, and lists
    replace on a merge."""
    blocks = yaml.safe_load((ROOT / "config" / "gpu-budget.yaml").read_text())["grid"]["blocks"]
    for index, block in enumerate(blocks):
        block["train"] = {**block.get("train", {}), "epochs": LONG_EPOCHS if index == 0 else 1}
    overlay = yaml.safe_load(TINY)
    overlay["grid"]["blocks"] = blocks
    return yaml.safe_dump(overlay, sort_keys=False)


#: The check at the preset's own encoder shape (MiniLM's, which gpu_run.py passes) with few steps, and two Ks.
CHECK_ARGS = ("--skip-cuda --steps 1 --windows 1 --warmup-steps 1 --bc2gm-sentences 16 --pack-seconds 1 "
              "--pack-warmup-steps 1 --startup-repeats 1 --checkpoint-repeats 1 --matmul-size 64 --matmul-repeats 1")
PACK = "1,2"


# ------------------------------------------------------------------------------------------- the planner
def test_parts_are_prefixes_of_the_claims_with_the_blocks_they_name():
    config = load_params(ROOT, ["config/gpu-budget.yaml"])
    claims = config["report"]["claims"]
    assert [c["name"][:2] for c in claims] == ["G1", "G2", "G3", "G4", "G5"]
    first = gpu_run.part_overlay(config, 1)
    assert first["report"]["claims"] == claims[:1] + [{**c, "planned": False} for c in claims[1:]]
    assert [b["datasets"] for b in first["grid"]["blocks"]] == [["NCBI-disease"]]
    third = gpu_run.part_overlay(config, 3)
    assert [b["datasets"][0] for b in third["grid"]["blocks"]] == ["NCBI-disease", "BC5CDR-chem", "BC2GM"]
    fourth = gpu_run.part_overlay(config, 4)  # alternating@steps2000 joins; the w1111 block not yet
    assert [b.get("name") for b in fourth["grid"]["blocks"]] == [None, None, None, "steps2000"]
    assert len(gpu_run.part_overlay(config, 5)["grid"]["blocks"]) == 5


def test_a_part_starts_only_when_its_estimate_fits():
    overhead = gpu_run.SNAKEMAKE_OVERHEAD_SECONDS
    pace = gpu_run.Pace(startup=10.0, k=4)  # no rate measured yet: fixed costs only
    # the first part always starts, whatever it would cost
    assert gpu_run.fits(pace, 16, 10**9, 1.0, first=True)[0]
    # 16 runs in waves of 4: 4 start-ups of 10 s, + Snakemake's own overhead
    assert pace.estimate(16, 10**6) == pytest.approx(overhead + 40)
    # after a part of 16 runs and 1,000,000 passes took overhead + 40 + 500 s: 2,000 passes/s beyond fixed costs
    measured = pace.measured(16, 1_000_000, overhead + 40 + 500)
    assert measured.rate == pytest.approx(2000)
    ok, estimate = gpu_run.fits(measured, 8, 400_000, 260.0, first=False)  # 2 waves + 200 s of training
    assert ok and estimate == pytest.approx(overhead + 20 + 200)
    assert not gpu_run.fits(measured, 8, 400_000, 200.0, first=False)[0]
    # a part whose fixed costs took nearly all its time measures no rate (the rehearsal's tiny parts) ...
    assert pace.measured(2, 8, overhead + 10 + 1).rate is None
    # ... and the slower of two measured rates is kept
    assert measured.measured(16, 500_000, overhead + 40 + 500).rate == pytest.approx(1000)


# ------------------------------------------------------------------------------------------- the rehearsal
def _image_view(target: Path) -> None:
    """A folder holding (links to) the distributions the GPU image lists, as installed here, with what they
    require (the image is self-consistent: its packages' own dependencies are there), and nothing else."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    environment = {**default_environment(), "extra": ""}
    wanted, stack = set(), sorted(gpu_bundle.image_packages())
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # listed by the image but not installed here (jax, ...): nothing of ours needs it
        wanted.add(name)
        for text in distribution.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                stack.append(gpu_bundle.canonical(requirement.name))
    target.mkdir()
    for distribution in metadata.distributions():
        if gpu_bundle.canonical(distribution.metadata["Name"]) not in wanted or not distribution.files:
            continue
        site = Path(distribution.locate_file(""))
        for top in {Path(str(file)).parts[0] for file in distribution.files}:
            source = site / top
            if top != ".." and source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)


@pytest.mark.slow
def test_the_device_call_rehearsed_on_cpu(tmp_path, mirror_data):
    # the tree as the device tool carries it (tracked and untracked-not-ignored files), outside the checkout
    tree = tmp_path / "tree"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes(source.read_bytes())
            (tree / name).chmod(source.stat().st_mode)
    (tree / "tiny.yaml").write_text(tiny_overlay())

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    built = subprocess.run([sys.executable, str(tree / "benchmarks" / "gpu_bundle.py"), "--out", str(tree / ".gpu"),
                            "--python-version", version, "--mirror", str(mirror_data)],
                           capture_output=True, text=True, timeout=900)
    assert built.returncode == 0, built.stderr
    manifest = json.loads((tree / ".gpu" / "manifest.json").read_text())
    assert manifest["total_mib"] <= 60 and "snakemake" in manifest["wheels"]
    assert manifest["wheels"]["connection-pool"]["how"] == "built"  # an sdist only (Snakemake's): built here
    assert "seqeval" not in manifest["wheels"]  # a test oracle (the dev extra): the device call does not need it
    assert not {"torch", "transformers", "dvc", "pulp"} & set(manifest["wheels"])  # the image's, or not needed
    # every bundled wheel's requirements met by the bundle or the image, but mtbioner's torch pin (the image's 2.11)
    assert [text.split(":")[0] for text in manifest["accepted_conflicts"]] == [
        "wheel mtbioner needs torch==2.13.0, the image has torch 2.11.0"]
    assert "BC5CDR-disease" in manifest["datasets"]  # Table 1 needs it

    # a fresh venv that sees the image's packages and nothing else of this one
    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    _image_view(tmp_path / "image-site")
    python = fresh / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "gpu-image.pth").write_text(str(tmp_path / "image-site") + "\n")
    missing = subprocess.run([str(python), "-c", "import snakemake"], capture_output=True, text=True)
    assert missing.returncode != 0  # the image alone has no Snakemake: the bundle must bring it

    out = tmp_path / "out"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PYTHON=str(python), MTBIONER_SITE=str(tmp_path / "site"), OUT=str(out),
               PATH=f"{fresh / 'bin'}:/usr/bin:/bin")
    command = ["bash", "benchmarks/gpu_run.sh", "--preset", "config/gpu-budget.yaml", "--preset", "tiny.yaml",
               "--check-args", CHECK_ARGS, "--pack", PACK, "--slots", "2", "--cores", "2", "--check-seconds", "400"]
    results = tree / "results" / "gpu-budget"

    def device_call(budget: float, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
        done = subprocess.run([*command, *extra], cwd=tree, env={**env, "GPU_RUN_BUDGET": f"{budget:.0f}"},
                              capture_output=True, text=True, timeout=1500)
        record = json.loads((out / "device_run.json").read_text()) if (out / "device_run.json").exists() else {}
        return done, record

    # the first call: install, corpus and the GPU check only (--parts 0)
    first, record = device_call(1500, "--parts", "0")
    assert first.returncode == 0, (first.stdout[-3000:], first.stderr[-3000:], record)
    assert record["parts"] == {}
    call = record["calls"][0]
    # the check measured packing on the model that trains (MiniLM's shape, from the bundle's config.json), at
    # every planned K
    assert call["packing_planned"] == call["packing_measured"] == [1, 2], call
    assert call["trainings_per_gpu"] in (1, 2)
    check = json.loads((out / "gpu_check.json").read_text())
    assert {key: check["shape"][key] for key in ("layers", "hidden_size", "heads", "intermediate_size")} == {
        "layers": 6, "hidden_size": 384, "heads": 12, "intermediate_size": 1536}
    for phase in ("environment", "step", "startup", "checkpoint", "packing"):
        assert check["phases"][phase]["status"] == "ok", (phase, check["phases"][phase])
    rounds = check["phases"]["packing"]["result"]["rounds"]
    assert sorted(rounds) == ["1", "2"] and all("aggregate_sentences_per_second" in row for row in rounds.values())

    # the second call: its deadline cuts part 1 while it trains
    started = time.perf_counter()
    subprocess.run([str(python), "-c", "import torch, mtbioner.training.trainer"], check=True,
                   env={**env, "PYTHONPATH": str(tmp_path / "site")})
    startup = time.perf_counter() - started
    pack_margin = 40  # gpu_run.py's --pack-margin default: the deadline is the budget less it
    second, record = device_call(pack_margin + DEADLINE_STARTUPS * startup)
    assert second.returncode == 1, (second.stdout[-3000:], second.stderr[-3000:], record)  # a part cut off
    assert [part["status"] for part in record["parts"].values()] == ["cut off"], record
    assert record["calls"][1]["check"] == "kept from an earlier call"
    # SIGTERM at the deadline: the trainings under way wrote checkpoints, Snakemake left no lock, the archives
    # came back
    checkpoints = sorted(results.glob("runs/NCBI-disease/*/frac10/seed13/checkpoints/step-*/state.pt"))
    assert checkpoints, (startup, record, sorted(str(p.relative_to(tree)) for p in results.rglob("*")))
    assert not list((tree / ".snakemake" / "locks").glob("*"))
    assert sorted(path.name for path in out.iterdir()) == ["device_run.json", "gpu_check.json", "logs.tar.gz",
                                                          "results.tar.gz"]

    # the third call resumes: part 1's trainings from their checkpoints, then every later part
    third, record = device_call(1500)
    assert third.returncode == 0, (third.stdout[-3000:], third.stderr[-3000:], record)
    assert [part["status"] for part in record["parts"].values()] == ["done"] * 5
    assert [part["calls"] for part in record["parts"].values()] == [2, 1, 1, 1, 1]
    resumed = [path for path in results.glob("logs/train/NCBI-disease/*/frac10/seed13.log")
               if "resuming" in path.read_text()]
    assert resumed, sorted(str(p.relative_to(tree)) for p in results.glob("logs/train/**/*"))

    # what comes back: at most 8 files, each at most 16 MiB
    files = sorted(path.name for path in out.iterdir())
    assert files == ["device_run.json", "gpu_check.json", "logs.tar.gz", "results.tar.gz"]
    assert all((out / name).stat().st_size <= 16 * 1024 * 1024 for name in files)
    with tarfile.open(out / "results.tar.gz") as archive:
        names = set(archive.getnames())
        verdicts = archive.extractfile("results/gpu-budget/tables/verdicts.csv").read().decode()
        run_config = json.loads(archive.extractfile(
            "results/gpu-budget/runs/NCBI-disease/joint-max/frac10/seed13/config.json").read())
    assert {"results/gpu-budget/report.md", "results/gpu-budget/tables/sentence_counts.csv.gz", "results/gpu-budget/tables/table1.md"} <= names
    assert [line.split(",")[0].strip('"')[:2] for line in verdicts.splitlines()[1:]] == ["G1", "G2", "G3", "G4", "G5"]
    assert run_config["encoder"].endswith(".gpu/minilm")  # the bundle's MiniLM, not the PyPI package
    assert run_config["epochs"] == LONG_EPOCHS
    assert not any(name.endswith(("model.safetensors", ".jsonl.gz")) or "/model/" in name for name in names)
    with tarfile.open(out / "logs.tar.gz") as archive:
        assert any(name.startswith("results/gpu-budget/logs/train/") for name in archive.getnames())

    # a fourth call finds every part done: nothing is retrained, the check is kept
    fourth, record = device_call(1500)
    assert fourth.returncode == 0, fourth.stderr[-3000:]
    assert len(record["calls"]) == 4 and record["calls"][3]["check"] == "kept from an earlier call"
    assert [part["calls"] for part in record["parts"].values()] == [2, 1, 1, 1, 1]
