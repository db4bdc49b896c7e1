"""DVC records the parameters that ran (issue 10, "One source of truth").

params.yaml is the resolved parameter file both tools read; `dvc exp run -S preset=NAME -S key=value`
composes config/params.yaml with Hydra (.dvc/config) and writes params.yaml before the stages run. The fast
tests check the composition against Snakemake's own overlay merge without running anything; the slow one
runs dvc.yaml's documented `dvc exp run -S ...` commands on a tiny grid in a temporary git + DVC repository
and compares every run's config.json with the params DVC reports for that experiment.
"""

from __future__ import annotations

import configparser
import copy
import json
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from conftest import CORPUS_MIRROR
from mtbioner.plan import grid
from mtbioner.params import HYDRA_CONFIG_DIR, HYDRA_CONFIG_NAME, SCHEMA_RESOURCE, compose_params, load_params
from test_workflow import BIN, copy_workflow, git_repository, run

ROOT = Path(__file__).resolve().parents[1]
OVERLAYS = ["quick", "cpu"]  # config/<name>.yaml: Snakemake overlays and Hydra `preset` choices alike


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def validated(params: dict, root: Path = ROOT) -> dict:
    """params as the Snakefile sees them: schema-validated with the defaults filled in."""
    config = copy.deepcopy(params)
    validate(config, str(root / "src" / "mtbioner" / SCHEMA_RESOURCE), set_default=True)
    return config


def run_configs(params: dict) -> dict[str, dict]:
    """The RunConfig of every run of the grid these params describe, by run directory."""
    config = validated(params)
    return {run.run_dir: run.config.to_json_dict() for run in grid.expand_grid(config)}


# ------------------------------------------------------------------------------- fast: the composition
def test_dvc_config_enables_hydra_on_config_params() -> None:
    dvc_config = configparser.ConfigParser()
    dvc_config.read(ROOT / ".dvc/config")
    assert dvc_config.getboolean("hydra", "enabled")
    assert (dvc_config["hydra"]["config_dir"], dvc_config["hydra"]["config_name"]) == (
        HYDRA_CONFIG_DIR, HYDRA_CONFIG_NAME)


def test_committed_params_yaml_is_the_composed_paper_preset() -> None:
    """`dvc repro` with the committed params.yaml runs the paper preset, exactly as composed from config/."""
    params = load(ROOT / "params.yaml")
    assert params == compose_params(ROOT) == compose_params(ROOT, ["preset=paper"])
    assert params == load(ROOT / "config/paper.yaml")
    assert "preset" not in params, "no overlay is loaded behind params.yaml"


@pytest.mark.parametrize("preset", ["paper", *OVERLAYS])
def test_preset_composes_to_what_snakemake_merges(preset: str) -> None:
    """`dvc exp run -S preset=NAME` writes the parameters `snakemake --configfile config/NAME.yaml` runs with."""
    composed = validated(compose_params(ROOT, [f"preset={preset}"]))
    assert composed == load_params(ROOT, [f"config/{preset}.yaml"])
    assert run_configs(composed) == run_configs(load_params(ROOT, [f"config/{preset}.yaml"]))


def test_set_param_beats_the_preset() -> None:
    """The issue's case: `-S preset=quick -S train.epochs=3` plans 3 epochs wherever the params say so."""
    params = compose_params(ROOT, ["preset=quick", "train.epochs=3", "data.source=/some/mirror"])
    assert params["train"]["epochs"] == 3 and params["data"]["source"] == "/some/mirror"
    assert params["model"]["encoder"] == "minilm", "the preset's own values are there too"
    epochs = {(c["dataset"], c["epochs"]) for c in run_configs(params).values()}
    # NCBI-disease's own epochs (train.per_dataset, 2 in quick) are a recorded param as well
    assert epochs == {("BC2GM", 3), ("BC5CDR-chem", 3), ("NCBI-disease", 2)}
    assert params["train"]["per_dataset"]["NCBI-disease"]["epochs"] == 2
    more = compose_params(ROOT, ["preset=quick", "train.epochs=3", "train.per_dataset.NCBI-disease.epochs=3"])
    assert {c["epochs"] for c in run_configs(more).values()} == {3}


def test_quick_and_paper_differ_by_their_real_values() -> None:
    paper, quick = compose_params(ROOT), compose_params(ROOT, ["preset=quick"])
    assert (paper["model"]["encoder"], paper["train"]["epochs"]) == ("dmis-lab/biobert-base-cased-v1.1", 50)
    assert (quick["model"]["encoder"], quick["train"]["epochs"]) == ("minilm", 2)


def test_a_typo_in_a_set_param_fails() -> None:
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException, match="train.epoch"):
        compose_params(ROOT, ["train.epoch=3"])


def test_preset_values_live_in_one_file_each() -> None:
    """config/preset/NAME.yaml only points at config/NAME.yaml: no second copy of a preset's values."""
    group = sorted(path.stem for path in (ROOT / HYDRA_CONFIG_DIR / "preset").glob("*.yaml"))
    assert group == sorted(["paper", *OVERLAYS])
    for name in group:
        text = (ROOT / HYDRA_CONFIG_DIR / "preset" / f"{name}.yaml").read_text(encoding="utf-8")
        assert text.startswith("# @package _global_\n")
        assert (load(ROOT / HYDRA_CONFIG_DIR / "preset" / f"{name}.yaml") or {}) == (
            {} if name == "paper" else {"defaults": [f"/{name}"]})
    assert load(ROOT / HYDRA_CONFIG_DIR / f"{HYDRA_CONFIG_NAME}.yaml") == {
        "defaults": ["paper", {"preset": "paper"}, "_self_"]}


# ---------------------------------------------------------------- slow: dvc exp run on a tiny grid
# dvc.yaml's documented commands get these -S on top to shrink the grid to two tiny trainings (one dataset
# whose epochs come from train.epochs; baseline and joint-max at 100 %, which the report stage needs; no
# blocks or claims of the preset's own, which name other datasets).
SHRINK = ["model.encoder=tiny", "model.max_length=32", "data.datasets=[BC2GM]", "data.fractions=[100]",
          "data.max_train_sentences=12", "eval.max_test_sentences=6", "grid.experiments=[baseline,joint-max]",
          "grid.blocks=[]", "report.claims=[]", "report.bootstrap_samples=100"]


def dvc(workspace: Path, *args: str) -> str:
    return run(workspace, str(BIN / "dvc"), *args).stdout


def exp_run(workspace: Path, name: str, *overrides: str) -> None:
    dvc(workspace, "exp", "run", "--name", name, *[arg for value in [*overrides, *SHRINK] for arg in ("-S", value)])


def shown_params(workspace: Path) -> dict[str, dict]:
    """params.yaml's params of every row of `dvc exp show --json`, by name (experiments, the branch) and rev."""
    rows = {}
    for commit in json.loads(dvc(workspace, "exp", "show", "--json")):
        for row in [commit, *[rev for exp in commit.get("experiments") or [] for rev in exp["revs"]]]:
            params = row["data"]["params"]["params.yaml"]["data"]
            rows[row["rev"]] = params
            if row.get("name"):
                rows[row["name"]] = params
    return rows


def ran_configs(workspace: Path) -> dict[str, dict]:
    files = workspace.glob("results/quick/runs/*/*/*/*/config.json")  # not model/config.json
    return {str(path.parent.relative_to(workspace)): load(path) for path in files}


def assert_runs_match(workspace: Path, params: dict) -> None:
    """Every run's config.json is the RunConfig these params give it (casing: `auto` resolves in the run)."""
    expected, actual = run_configs(params), ran_configs(workspace)
    assert sorted(actual) == sorted(expected)
    for run_dir, config in actual.items():
        assert config == {**expected[run_dir], "lowercase": config["lowercase"]}, run_dir
        assert expected[run_dir]["lowercase"] in ("auto", config["lowercase"])


def mtimes(workspace: Path, pattern: str) -> dict[Path, float]:
    return {path: path.stat().st_mtime for path in workspace.glob(pattern)}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git + DVC repository of the workflow (params.yaml: the paper preset, committed)."""
    if not (CORPUS_MIRROR / "BC2GM-IOB").is_dir():
        pytest.fail(f"corpus mirror not available at {CORPUS_MIRROR}")
    workspace = copy_workflow(tmp_path_factory.mktemp("dvc_repo"))
    git_repository(workspace, "workflow at the paper preset")
    return workspace


# dvc.yaml's example `dvc exp run -S preset=quick -S data.source=... -S train.epochs=3`, from the mirror's file://
# URL (the manifest must name it). Each test below starts with it when it runs alone.
FIRST = ("quick-3", "preset=quick", f"data.source={CORPUS_MIRROR.as_uri()}", "train.epochs=3")
MANIFEST = "results/quick/data/BC2GM/raw/manifest.json"


def ensure_first_experiment(repo: Path) -> None:
    if not (repo / MANIFEST).is_file():
        exp_run(repo, *FIRST)


@pytest.mark.slow
def test_exp_run_with_a_preset_and_set_params_records_what_ran(repo: Path) -> None:
    """`-S preset=quick -S data.source=... -S train.epochs=3`: the runs train 3 epochs with quick's other
    values, DVC shows exactly those params, and the committed baseline row shows the paper's real values."""
    exp_run(repo, *FIRST)
    shown = shown_params(repo)
    params = shown["quick-3"]
    assert params == load(repo / "params.yaml")
    assert_runs_match(repo, params)
    configs = ran_configs(repo).values()  # quick's learning rate and batch size, the -S epochs
    assert {(c["epochs"], c["batch_size"], c["learning_rate"]) for c in configs} == {(3, 8, 3.0e-4)}
    assert load(repo / MANIFEST)["source"].startswith(CORPUS_MIRROR.as_uri())
    head = run(repo, "git", "rev-parse", "HEAD").stdout.strip()
    assert (shown[head]["train"]["epochs"], shown[head]["train"]["learning_rate"]) == (50, 5.0e-5)
    assert shown[head]["model"]["encoder"] == "dmis-lab/biobert-base-cased-v1.1"


@pytest.mark.slow
def test_exp_run_of_a_preset_alone_runs_its_values_and_downloads_nothing_again(repo: Path) -> None:
    """`dvc exp run -S preset=quick`: quick's own 2 epochs. data.source goes back to upstream (unreachable
    here): the runs retrain, no download reruns, and the manifest still names the source that served the bytes."""
    ensure_first_experiment(repo)
    manifest, data = load(repo / MANIFEST), mtimes(repo, "results/quick/data/**/*")
    exp_run(repo, "quick", "preset=quick")
    params = shown_params(repo)["quick"]
    assert params["train"]["epochs"] == 2 and params["data"]["source"].startswith("https://")
    assert_runs_match(repo, params)
    assert {c["epochs"] for c in ran_configs(repo).values()} == {2}
    assert mtimes(repo, "results/quick/data/**/*") == data
    assert load(repo / MANIFEST) == manifest


@pytest.mark.slow
def test_exp_run_switching_to_a_mirror_with_the_same_bytes_retrains_nothing(repo: Path) -> None:
    """The last experiment again with data.source switched to a mirror directory of the same bytes: DVC records
    the new source and reruns the stages' snakemake, which downloads and trains nothing."""
    ensure_first_experiment(repo)
    before = load(repo / "params.yaml")
    runs, data = mtimes(repo, "results/quick/runs/**/*"), mtimes(repo, "results/quick/data/**/*")
    exp_run(repo, "quick-mirror", "preset=quick", f"train.epochs={before['train']['epochs']}",
            f"data.source={CORPUS_MIRROR}")
    params = shown_params(repo)["quick-mirror"]
    assert params == {**before, "data": {**before["data"], "source": str(CORPUS_MIRROR)}}
    assert_runs_match(repo, params)
    assert mtimes(repo, "results/quick/runs/**/*") == runs
    assert mtimes(repo, "results/quick/data/**/*") == data
