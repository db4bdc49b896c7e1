"""The prepared device call, rehearsed on the CPU: the bundle built by benchmarks/gpu_bundle.py, installed with
no index into a fresh venv outside the checkout that sees only the bundle and the GPU image's packages, then
the very same benchmarks/gpu_run.sh with a tiny overlay — the GPU check (--skip-cuda), every part of the GPU
preset through Snakemake, the products packed within the device tool's limits, and a second call that resumes
instead of starting over. It catches every failure but CUDA's own: a package the image lacks and the bundle
forgot, a corpus file left out, a path that only exists in the checkout, an archive over the limits.

Also the part planner's rules (no subprocess): parts are prefixes of the claims, each with the blocks it names,
and a part starts only when its estimate fits."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import tarfile
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


def tiny_overlay() -> str:
    """TINY plus the preset's own grid blocks, in order and by name, with one epoch each: a block's `train`
    overrides (alternating's 25 epochs) beat the overlay's epochs, and lists replace on a merge."""
    blocks = yaml.safe_load((ROOT / "config" / "gpu-budget.yaml").read_text())["grid"]["blocks"]
    for block in blocks:
        block["train"] = {**block.get("train", {}), "epochs": 1}
    overlay = yaml.safe_load(TINY)
    overlay["grid"]["blocks"] = blocks
    return yaml.safe_dump(overlay, sort_keys=False)
CHECK_ARGS = ("--skip-cuda --layers 2 --hidden-size 64 --heads 2 --intermediate-size 128 --steps 2 --windows 2 "
              "--warmup-steps 1 --bc2gm-sentences 64 --pack 1,2 --pack-seconds 1 --pack-warmup-steps 1 "
              "--startup-repeats 1 --checkpoint-repeats 1 --matmul-size 64 --matmul-repeats 1")


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
    env.update(PYTHON=str(python), MTBIONER_SITE=str(tmp_path / "site"), OUT=str(out), GPU_RUN_BUDGET="1500",
               PATH=f"{fresh / 'bin'}:/usr/bin:/bin")
    command = ["bash", "benchmarks/gpu_run.sh", "--preset", "config/gpu-budget.yaml", "--preset", "tiny.yaml",
               "--check-args", CHECK_ARGS, "--slots", "2", "--cores", "2", "--check-seconds", "400"]
    first = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=1500)
    record = json.loads((out / "device_run.json").read_text()) if (out / "device_run.json").exists() else {}
    assert first.returncode == 0, (first.stdout[-3000:], first.stderr[-3000:], record)

    # what comes back: at most 8 files, each at most 16 MiB
    files = sorted(path.name for path in out.iterdir())
    assert files == ["device_run.json", "gpu_check.json", "logs.tar.gz", "results.tar.gz"]
    assert all((out / name).stat().st_size <= 16 * 1024 * 1024 for name in files)
    assert [part["status"] for part in record["parts"].values()] == ["done"] * 5
    assert record["calls"][0]["trainings_per_gpu"] in (1, 2)
    check = json.loads((out / "gpu_check.json").read_text())
    for phase in ("environment", "step", "startup", "checkpoint", "packing"):
        assert check["phases"][phase]["status"] == "ok", (phase, check["phases"][phase])
    with tarfile.open(out / "results.tar.gz") as archive:
        names = set(archive.getnames())
        verdicts = archive.extractfile("results/gpu-budget/tables/verdicts.csv").read().decode()
        run_config = json.loads(archive.extractfile(
            "results/gpu-budget/runs/NCBI-disease/joint-max/frac10/seed13/config.json").read())
    assert {"results/gpu-budget/report.md", "results/gpu-budget/tables/sentence_counts.csv.gz", "results/gpu-budget/tables/table1.md"} <= names
    assert [line.split(",")[0].strip('"')[:2] for line in verdicts.splitlines()[1:]] == ["G1", "G2", "G3", "G4", "G5"]
    assert run_config["encoder"].endswith(".gpu/minilm")  # the bundle's MiniLM, not the PyPI package
    assert not any(name.endswith(("model.safetensors", ".jsonl.gz")) or "/model/" in name for name in names)
    with tarfile.open(out / "logs.tar.gz") as archive:
        assert any(name.startswith("results/gpu-budget/logs/train/") for name in archive.getnames())

    # a second call on the warm machine resumes: every part is done, nothing is retrained, the check is kept
    second = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    record = json.loads((out / "device_run.json").read_text())
    assert len(record["calls"]) == 2 and record["calls"][1]["check"] == "kept from an earlier call"
    assert [part["calls"] for part in record["parts"].values()] == [1] * 5
