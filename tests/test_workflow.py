"""The whole DAG on a tiny configuration: Snakemake builds every target, stays idempotent, reruns only what
a changed parameter affects, and DVC drives the same DAG (same outputs, params, metrics and plots).

The tiny configuration is the real params.yaml with an overlay: one dataset sliced from the corpus mirror,
the random `tiny` encoder, one seed, and the baseline / joint-max / single-task families (8 runs), which is
enough for every rule of the workflow except Figure 5.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest
import yaml

from conftest import CORPUS_MIRROR

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COPIED = ["Snakefile", "params.yaml", "dvc.yaml", ".dvcignore", "workflow", "config", "src/mtbioner", ".dvc/config"]

TINY = {
    "name": "tiny",
    "data": {"datasets": ["NCBI-disease"], "fractions": [100, 10], "max_train_sentences": 40},
    "model": {"encoder": "tiny", "max_length": 64},
    "train": {"batch_size": 8, "learning_rate": 1.0e-3, "epochs": 2,
              "per_dataset": {"NCBI-disease": {"learning_rate": 1.0e-3, "epochs": 2}}},
    "eval": {"max_test_sentences": 20},
    "grid": {"seeds": [1], "experiments": ["baseline", "joint-max", "single"]},
    "resources": {"train_gpus": 0, "train_threads": 1, "train_mem_mb": 1000, "train_runtime": 10},
    "report": {"bootstrap_samples": 100},
}
TINY_RUNS = {("baseline", 100), ("baseline", 10), ("joint-max", 100), ("joint-max", 10),
             ("single-ner", 100), ("single-mt", 100), ("single-bcls", 100), ("single-mcls", 100)}


def copy_workflow(target: Path) -> Path:
    """The workflow's own files (no results, no .snakemake) in a fresh directory."""
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def run(cwd: Path, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(list(args), cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def git_repository(workspace: Path, message: str) -> None:
    """Make the workspace a git repository (as DVC needs) with everything but results committed."""
    run(workspace, "git", "init", "-q")
    run(workspace, "git", "config", "user.email", "test@example.org")
    run(workspace, "git", "config", "user.name", "test")
    (workspace / ".gitignore").write_text("/results/\n/.snakemake/\n/.dvc/tmp\n/.dvc/cache\n")
    run(workspace, "git", "add", "-A")
    run(workspace, "git", "commit", "-q", "-m", message)


def snakemake(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(cwd, str(BIN / "snakemake"), *args, check=check)


def overlay(workspace: Path, name: str, values: dict) -> str:
    """An extra overlay file (Snakemake's --config parses nested values as strings, so numbers need a file)."""
    (workspace / name).write_text(yaml.safe_dump(values), encoding="utf-8")
    return name


def snakemake_report(workspace: Path, *args: str) -> tuple[set[str], dict, str]:
    """`snakemake --report report.zip ARGS` (Snakemake's own report): the names of the result files in the
    archive, the report's categories (category -> subcategory -> result paths) and its report.html."""
    archive = workspace / "report.zip"
    archive.unlink(missing_ok=True)
    snakemake(workspace, "--report", str(archive), *args)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        page = zipped.read("report/report.html").decode("utf-8")
    categories = re.search(r"^\s*var categories = (\{.*\});$", page, flags=re.MULTILINE)
    assert categories, "report.html has no `var categories = {...};` line"
    files = {PurePosixPath(name).name for name in names if name.startswith("report/data/")}
    return files, json.loads(categories.group(1)), page


def planned_train_runs(output: str) -> set[tuple[str, int]]:
    """(experiment, fraction) of every `train` job in a dry-run's output."""
    jobs = re.findall(r"^rule train:\n(?:\s+.*\n)*?\s+wildcards: ([^\n]+)", output, flags=re.MULTILINE)
    runs = set()
    for wildcards in jobs:
        fields = dict(part.split("=", 1) for part in wildcards.split(", "))
        runs.add((fields["experiment"], int(fields["fraction"])))
    return runs


def planned_rules(output: str) -> set[str]:
    return set(re.findall(r"^(?:local)?rule (\w+):", output, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def workflow_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("workflow"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the tiny configuration built once by `snakemake --cores 2`."""
    if not (CORPUS_MIRROR / "NCBI-disease-IOB").is_dir():
        pytest.fail(f"corpus mirror not available at {CORPUS_MIRROR}")
    workspace = copy_workflow(tmp_path_factory.mktemp("tiny_dag"))
    tiny = json.loads(json.dumps(TINY))
    tiny["data"]["source"] = str(CORPUS_MIRROR)
    (workspace / "config/tiny.yaml").write_text(yaml.safe_dump(tiny, sort_keys=False), encoding="utf-8")
    snakemake(workspace, "--cores", "2", "--configfile", "config/tiny.yaml")
    return workspace


# ------------------------------------------------------------------------------------------- fast checks
def test_lint_is_clean(workflow_copy: Path) -> None:
    result = snakemake(workflow_copy, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    """The run failed before any job with exactly one `error: ...` line and no traceback or schema dump."""
    assert result.returncode != 0
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in output and "$schema" not in output, output[-3000:]
    return errors[0]


def test_typo_in_params_fails_at_start_naming_the_key(workflow_copy: Path) -> None:
    line = _one_error_line(snakemake(workflow_copy, "-n", "--config", "train={epochz: 3}", check=False))
    assert line == "error: unknown parameter train.epochz (did you mean 'epochs'?)"


def test_unknown_dataset_fails_at_start_with_the_closest_name(workflow_copy: Path) -> None:
    bad = overlay(workflow_copy, "bad.yaml", {"name": "bad", "data": {"datasets": ["NCBI-disaese"]}})
    line = _one_error_line(snakemake(workflow_copy, "-n", "--configfile", bad, check=False))
    assert line.startswith("error: data.datasets: unknown dataset 'NCBI-disaese'") and "'NCBI-disease'?" in line
    # the quick preset's typo of the issue: a dataset typo beside the preset's blocks names the typo, not a block
    typo = overlay(workflow_copy, "typo.yaml", {"data": {"datasets": ["BC2GM", "BC5CDR-chem", "NCBI-diseas"]}})
    line = _one_error_line(snakemake(workflow_copy, "-n", "--configfile", "config/quick.yaml", typo, check=False))
    assert "unknown dataset 'NCBI-diseas'" in line and "did you mean 'NCBI-disease'?" in line


def test_an_unset_slurm_partition_fails_at_start(workflow_copy: Path) -> None:
    shutil.copytree(ROOT / "profiles", workflow_copy / "profiles", dirs_exist_ok=True)
    environment = {key: value for key, value in env().items() if not key.startswith("MTBIONER_SLURM")}
    result = subprocess.run([str(BIN / "snakemake"), "-n", "--profile", "profiles/slurm"], cwd=workflow_copy,
                            env=environment, capture_output=True, text=True, timeout=300)
    line = _one_error_line(result)
    assert "slurm_partition" in line and "MTBIONER_SLURM_PARTITION" in line


def test_overlays_merge_over_params_yaml_and_the_retired_preset_key_is_refused(workflow_copy: Path) -> None:
    """params.yaml is the only file the Snakefile loads; overlays come from the command line, later ones win.
    The old `preset:` key (an overlay loaded behind params.yaml, which beat `dvc exp run -S`) fails at start, as
    every unknown key does (the schema forbids them)."""
    counts = re.compile(r"^(\w+)\s+(\d+)$", flags=re.MULTILINE)
    quick = snakemake(workflow_copy, "-n", "--quiet", "rules", "--configfile", "config/quick.yaml").stdout
    assert dict(counts.findall(quick))["train"] == "66"  # every family; the pair-wise runs on one dataset
    (workflow_copy / "two-seeds.yaml").write_text("grid: {seeds: [1, 2]}\n")
    seeds = snakemake(workflow_copy, "-n", "--quiet", "rules",
                      "--configfile", "config/quick.yaml", "two-seeds.yaml").stdout
    assert dict(counts.findall(seeds))["train"] == "132"
    refused = snakemake(workflow_copy, "-n", "--config", "preset=config/quick.yaml", check=False)
    assert _one_error_line(refused).startswith("error: unknown parameter preset (allowed: name, data, model, train")


def test_paper_preset_plans_every_run_of_the_grid(workflow_copy: Path) -> None:
    result = snakemake(workflow_copy, "-n", "--quiet", "rules")
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, flags=re.MULTILINE))
    assert counts["train"] == "270"
    assert counts["report_taskemb"] == "12"
    assert counts["download"] == "4"  # BC5CDR-disease too: the paper's Table 1 BC5CDR row


def test_snakemake_report_shows_table1_with_its_caption(workflow_copy: Path) -> None:
    """Snakemake's own report of the Table 1 part of the DAG: Table 1's Markdown and CSV (not its LaTeX)
    under Tables > Table 1 with the caption of workflow/report/table1.rst, and the workflow's description
    (workflow/report/workflow.rst) with the configuration filled in."""
    if not (CORPUS_MIRROR / "NCBI-disease-IOB").is_dir():
        pytest.fail(f"corpus mirror not available at {CORPUS_MIRROR}")
    one = overlay(workflow_copy, "table1.yaml", {"name": "table1", "data": {"datasets": ["NCBI-disease"],
                                                                           "source": str(CORPUS_MIRROR)}})
    snakemake(workflow_copy, "results/table1/tables/table1.md", "--cores", "1", "--configfile", one)
    files, categories, page = snakemake_report(workflow_copy, "results/table1/tables/table1.md", "--configfile", one)
    assert files == {"table1.md", "table1.csv"}
    assert categories == {"Tables": {"Table 1": ["results/table1/tables/table1.csv",
                                                 "results/table1/tables/table1.md"]}}
    assert "Table 1: sentences and entities per dataset and split" in page
    assert "mtbioner: multi-task biomedical NER" in page and "NCBI-disease; training fractions" in page


def test_report_captions_render_without_docutils_warnings() -> None:
    """Every caption of Snakemake's report (workflow/report/*.rst) renders as Snakemake renders it (Jinja with
    `snakemake.config`, then docutils) for the paper and the CPU preset, and each rule's caption file exists."""
    from docutils.core import publish_parts
    from jinja2 import Environment, StrictUndefined

    from mtbioner.params import load_params

    captions = sorted((ROOT / "workflow/report").glob("*.rst"))
    rules = "\n".join(path.read_text(encoding="utf-8") for path in sorted((ROOT / "workflow/rules").glob("*.smk")))
    # in_report(paths, category, subcategory, caption): the caption is the call's last argument
    used = set(re.findall(r'"(?:Tables|Figures)",\s*"[^"]+",\s*"([\w-]+)",?\s*\)', rules))
    assert used | {"workflow"} == {path.stem for path in captions}
    assert 'report: "workflow/report/workflow.rst"' in (ROOT / "Snakefile").read_text(encoding="utf-8")
    for overlays in ([], ["config/quick.yaml"]):
        config = load_params(ROOT, overlays)
        for path in captions:
            text = Environment(undefined=StrictUndefined).from_string(path.read_text(encoding="utf-8")).render(
                snakemake=type("Snakemake", (), {"config": config}))
            html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 5})
            assert html["body"].strip(), path.name


def _stage_targets(workspace: Path, target: str) -> set[str]:
    """Every file the DAG of one Snakemake target rule writes (`--summary` lists outputs without running)."""
    summary = snakemake(workspace, target, "--summary").stdout
    files = set()
    for line in summary.splitlines()[1:]:
        if line.strip() and "\t" in line:
            files.add(line.split("\t", 1)[0])
    return files


@pytest.mark.slow
def test_snakemake_and_dvc_plan_the_same_outputs(workflow_copy: Path) -> None:
    """Each DVC stage's cmd runs one Snakemake target rule; the files that rule's DAG writes beyond the
    earlier stages' are exactly what the stage declares (inside its outs), and every out is written."""
    # dvc.yaml's paths name the configuration's tree as results/${name}/ (DVC fills it from params.yaml)
    tree = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))["name"]
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8").replace("${name}", tree))
    done: set[str] = set()
    for name, stage in dvc["stages"].items():
        match = re.fullmatch(r"snakemake (\w+) --cores all", stage["cmd"])
        assert match, f"stage {name}: cmd must run one Snakemake target rule: {stage['cmd']!r}"
        files = _stage_targets(workflow_copy, match.group(1)) - done
        outs = [next(iter(out)) if isinstance(out, dict) else out
                for key in ("outs", "metrics", "plots") for out in stage.get(key, [])]
        for out in outs:
            assert out in files or any(path.startswith(out + "/") for path in files), \
                f"stage {name}: out {out} is not written by Snakemake target {match.group(1)}"
        not_declared = {path for path in files if not any(path == out or path.startswith(out + "/") for out in outs)}
        # Task embeddings are the report's intermediates (only Snakemake tracks them); nothing else may be.
        assert {path for path in not_declared if not path.startswith("results/paper/taskemb/")} == set(), name
        done |= files
    # dvc.yaml's plots are the curves the train stage writes.
    assert [next(iter(plot)) for plot in dvc["plots"]] == [f"results/{tree}/metrics/curves"]


# ------------------------------------------------------------------------------- end-to-end on tiny data
@pytest.mark.slow
def test_builds_every_target_and_second_run_does_nothing(built: Path) -> None:
    results = built / "results" / "tiny"
    for suffix in (".md", ".tex", ".csv"):
        assert (results / f"tables/table1{suffix}").stat().st_size > 0
    for experiment, fraction in TINY_RUNS:
        run_dir = results / f"runs/NCBI-disease/{experiment}/frac{fraction}/seed1"
        metrics = json.loads((run_dir / "metrics.json").read_text())
        config = json.loads((run_dir / "config.json").read_text())
        assert (config["experiment"], config["fraction"], config["encoder"]) == (experiment, fraction, "tiny")
        assert (run_dir / "test_predictions.tsv").is_file()
        # train.keep_models: needed — only the runs something reads keep a model: the single-task runs
        # (TaskEmb) and joint-max's first seed at its largest fraction
        kept = experiment.startswith("single-") or (experiment, fraction) == ("joint-max", 100)
        assert (run_dir / "model").is_dir() == kept, run_dir
        assert config["save_model"] == kept
        assert metrics["epoch"] == 2
    assert (results / "metrics/curves/NCBI-disease.csv").read_text().splitlines()[0].startswith("epoch,ner_f1")
    assert (results / "report.md").stat().st_size > 0
    assert (results / "figures/figure4.png").is_file() and (results / "figures/figure6.png").is_file()
    summary = json.loads((results / "metrics/summary.json").read_text())
    assert set(summary["NCBI-disease"]) == {"baseline", "joint-max", "single-ner"}
    # A second invocation has nothing to do.
    again = snakemake(built, "-n", "--configfile", "config/tiny.yaml")
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_two_presets_in_one_workspace_never_rewrite_each_other(built: Path) -> None:
    """Each configuration writes under results/<name>/ only: a second configuration that trains the same cells
    with other settings builds its own tree beside the tiny preset's, whose files stay untouched, and afterwards
    neither has anything to do; the paper preset plans nothing in either tree."""
    tiny_tree = built / "results" / "tiny"
    before = {path: path.stat().st_mtime_ns for path in tiny_tree.rglob("*") if path.is_file()}
    other = json.loads(json.dumps(TINY))
    other["name"] = "tiny-3-epochs"
    other["train"]["per_dataset"]["NCBI-disease"]["epochs"] = 3  # the same cells, other settings
    other["grid"] = {"seeds": [1], "blocks": [{"experiments": ["baseline"], "fractions": [10]}]}
    other["data"]["source"] = str(CORPUS_MIRROR)
    (built / "config/other.yaml").write_text(yaml.safe_dump(other, sort_keys=False), encoding="utf-8")
    snakemake(built, "all_runs", "--cores", "2", "--configfile", "config/other.yaml")
    run_dir = built / "results/tiny-3-epochs/runs/NCBI-disease/baseline/frac10/seed1"
    assert json.loads((run_dir / "metrics.json").read_text())["epoch"] == 3
    assert json.loads((tiny_tree / "runs/NCBI-disease/baseline/frac10/seed1/metrics.json").read_text())["epoch"] == 2
    assert {path: path.stat().st_mtime_ns for path in tiny_tree.rglob("*") if path.is_file()} == before
    for configuration in (["--configfile", "config/tiny.yaml"], ["all_runs", "--configfile", "config/other.yaml"]):
        again = snakemake(built, "-n", *configuration)
        assert "Nothing to be done" in again.stdout + again.stderr, configuration
    paper = snakemake(built, "--summary").stdout  # every output of the paper preset, without running
    planned = {line.split("\t", 1)[0] for line in paper.splitlines()[1:] if "\t" in line}
    assert planned and all(path.startswith("results/paper/") for path in planned)


@pytest.mark.slow
def test_snakemake_report_holds_every_table_and_figure(built: Path) -> None:
    """`snakemake --report` of the finished tiny DAG: every table (readable form and CSV) and figure (PNG and
    the numbers behind it) the grid makes, each under its category and subcategory with its caption; no
    LaTeX or PDF. The tiny grid has no pair-wise runs, hence no Figure 5."""
    files, categories, page = snakemake_report(built, "--configfile", "config/tiny.yaml")
    tables = {f"{name}.{ext}" for name in ("table1", "table2", "table3", "table4", "fp_rates") for ext in ("md", "csv")}
    assert files == tables | {"significance.csv", "fp_mcnemar.csv", "table5.html", "table5.md", "table5.csv", "figure4.png",
                              "figure6.png", "figure6_tsne.csv", "similarity.csv"}
    assert {category: set(subcategories) for category, subcategories in categories.items()} == {
        "Tables": {"Table 1", "Table 2", "Table 3", "Table 4", "Table 5", "False-positive sentences", "Significance"},
        "Figures": {"Figure 4", "Figure 6"},
    }
    assert sorted(categories["Figures"]["Figure 6"]) == ["results/tiny/figures/figure6.png",
                                                         "results/tiny/figures/figure6_tsne.csv",
                                                         "results/tiny/taskemb/similarity.csv"]
    for caption in ("Table 2: the baseline", "Table 5: test sentences", "Figure 4: the test score",
                    "Figure 6: the cosine-similarity matrix", "a paired bootstrap (100 resamples"):
        assert caption in page, caption


@pytest.mark.slow
def test_changed_param_reruns_only_the_affected_runs(built: Path) -> None:
    # β (mtCLS loss weight) enters only the four-task runs: joint-max at both fractions, nothing else.
    change = overlay(built, "beta.yaml", {"train": {"loss_weights": {"mt": 0.2}}})
    plan = snakemake(built, "-n", "--configfile", "config/tiny.yaml", change).stdout
    assert planned_train_runs(plan) == {("joint-max", 100), ("joint-max", 10)}
    assert not planned_rules(plan) & {"download", "prepare", "subsample", "table1", "report_taskemb"}
    # NCBI-disease's epochs reach every run of that dataset; the pair weight reaches none (no pairs here).
    change = overlay(built, "epochs.yaml", {"train": {"per_dataset": {"NCBI-disease": {"learning_rate": 1.0e-3, "epochs": 3}}}})
    plan = snakemake(built, "-n", "--configfile", "config/tiny.yaml", change).stdout
    assert planned_train_runs(plan) == TINY_RUNS
    change = overlay(built, "alpha.yaml", {"grid": {"pair_main_weight": 0.7}})
    plan = snakemake(built, "-n", "--configfile", "config/tiny.yaml", change).stdout
    # no run and no product changes; only report.md is rewritten, because it names the parameter files
    assert planned_train_runs(plan) == set() and planned_rules(plan) - {"all"} == {"report_page"}


@pytest.mark.slow
def test_switching_data_source_to_a_mirror_with_the_same_bytes_reruns_nothing(built: Path, tmp_path: Path) -> None:
    """data.source names where the bytes come from, not what they are (every file is SHA-256-verified): another
    mirror of the same bytes -- a file:// URL, a copied directory -- plans nothing, and the manifest keeps
    naming the source that served them."""
    manifest = json.loads((built / "results/tiny/data/NCBI-disease/raw/manifest.json").read_text())
    assert manifest["source"].startswith(f"{CORPUS_MIRROR} (commit ")
    copy = tmp_path / "mirror"
    shutil.copytree(CORPUS_MIRROR / "NCBI-disease-IOB", copy / "NCBI-disease-IOB")
    for source in (CORPUS_MIRROR.as_uri(), str(copy)):
        plan = snakemake(built, "-n", "--configfile", "config/tiny.yaml", "--config", f"data={{source: '{source}'}}")
        assert "Nothing to be done" in plan.stdout + plan.stderr, source
    assert json.loads((built / "results/tiny/data/NCBI-disease/raw/manifest.json").read_text()) == manifest


@pytest.mark.slow
def test_dvc_drives_the_same_dag(built: Path) -> None:
    """`dvc repro` with params.yaml composed from the tiny preset (what `dvc exp run -S preset=tiny` writes)
    reuses Snakemake's outputs (nothing retrains) and records the stages; metrics, plots and params are then
    visible to DVC."""
    from mtbioner.params import write_params

    dvc = str(BIN / "dvc")
    (built / "config/preset/tiny.yaml").write_text("# @package _global_\ndefaults:\n  - /tiny\n")
    write_params(built, ["preset=tiny"])
    git_repository(built, "tiny workspace")
    before = {p: p.stat().st_mtime for p in (built / "results/tiny/runs").rglob("metrics.json")}
    repro = run(built, dvc, "repro")
    assert "Running stage 'data'" in repro.stdout and "Running stage 'report'" in repro.stdout
    assert {p: p.stat().st_mtime for p in (built / "results/tiny/runs").rglob("metrics.json")} == before
    assert "up to date" in run(built, dvc, "status").stdout.lower() or run(built, dvc, "status").stdout.strip() == ""
    metrics = json.loads(run(built, dvc, "metrics", "show", "--json").stdout)
    assert "NCBI-disease" in json.dumps(metrics)
    plots = json.loads(run(built, dvc, "plots", "show", "--json").stdout)
    assert any("results/tiny/metrics/curves/NCBI-disease.csv" in key for key in plots["data"])
    # `dvc exp run -S` changes params.yaml and reruns the stages; α of the pair-wise runs reaches no run of
    # this grid, so Snakemake retrains nothing, and DVC records the experiment with its param and metrics.
    run(built, "git", "add", "dvc.lock")
    run(built, "git", "commit", "-q", "-m", "baseline experiment")
    run(built, dvc, "exp", "run", "-S", "preset=tiny", "-S", "grid.pair_main_weight=0.7")
    assert {p: p.stat().st_mtime for p in (built / "results/tiny/runs").rglob("metrics.json")} == before
    diff = run(built, dvc, "params", "diff").stdout
    assert "grid.pair_main_weight" in diff and "0.7" in diff
    shown = json.dumps(json.loads(run(built, dvc, "exp", "show", "--json").stdout))
    assert '"pair_main_weight": 0.7' in shown and "NCBI-disease" in shown


def test_own_corpus_without_devel_goes_through_import(workflow_copy: Path) -> None:
    """data.custom_datasets: an own corpus is imported (validated copy), not downloaded; no devel = train only."""
    folder = CORPUS_MIRROR / "NCBI-disease-IOB"
    if not folder.is_dir():
        pytest.fail(f"corpus mirror not available at {CORPUS_MIRROR}")
    mine = overlay(workflow_copy, "mine.yaml", {"name": "mine", "data": {
        "datasets": [], "fractions": [100, 50], "max_train_sentences": 30,
        "custom_datasets": {"MyCorpus": {"train": str(folder / "devel.tsv"), "test": str(folder / "test.tsv")}}}})
    plan = snakemake(workflow_copy, "-n", "--configfile", mine).stdout
    assert "rule import_corpus:" in plan and "rule download:" not in plan
    snakemake(workflow_copy, "results/mine/data/MyCorpus/train.frac50.jsonl", "--cores", "1", "--configfile", mine)
    raw = workflow_copy / "results/mine/data/MyCorpus/raw"
    assert (raw / "devel.tsv").read_text() == ""
    assert (raw / "train.tsv").read_bytes() == (folder / "devel.tsv").read_bytes()
    lines = (workflow_copy / "results/mine/data/MyCorpus/train.jsonl").read_text().splitlines()
    assert len(lines) == 923 and json.loads(lines[0])["id"] == "train:1"  # NCBI-disease devel has 923 sentences
    assert len((workflow_copy / "results/mine/data/MyCorpus/train.frac50.jsonl").read_text().splitlines()) == 15
