"""The experiment grid (SPEC section 5) expanded from the real params.yaml and its presets."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

import pytest
import yaml

from mtbioner.errors import MtbionerError
from mtbioner.plan.grid import expand_grid, find_run, loss_weights, runs_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paper() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_paper_preset_has_270_runs(paper: dict) -> None:
    runs = expand_grid(paper)
    assert len(runs) == 270
    assert len({run.run_dir for run in runs}) == 270, "run directories must be unique"
    per_cell = Counter((run.dataset, run.seed) for run in runs)
    assert set(per_cell.values()) == {30}
    assert sorted({d for d, _ in per_cell}) == ["BC2GM", "BC5CDR-chem", "NCBI-disease"]


def test_paper_preset_per_dataset_and_seed_breakdown(paper: dict) -> None:
    runs = runs_for(paper, dataset="NCBI-disease", seed=42)
    assert sorted(run.fraction for run in runs if run.experiment == "baseline") == [10, 25, 50, 100]
    assert sorted(run.fraction for run in runs if run.experiment == "joint-max") == [10, 25, 50, 100]
    for name in ("joint-cls", "joint-mean", "no-bcls", "no-mcls", "no-mt", "alternating"):
        assert [run.fraction for run in runs if run.experiment == name] == [100]
    pairs = [run for run in runs if run.family == "pair"]
    assert len(pairs) == 12
    assert {(run.main_task, run.tasks) for run in pairs} == {
        (main, (main, secondary)) for main in ("ner", "mt", "bcls", "mcls")
        for secondary in ("ner", "mt", "bcls", "mcls") if secondary != main
    }
    assert {run.experiment for run in runs if run.family == "single"} == {
        "single-ner", "single-mt", "single-bcls", "single-mcls"
    }
    assert Counter(run.family for run in runs) == {
        "baseline": 4, "joint-cls": 1, "joint-mean": 1, "joint-max": 4,
        "ablation": 3, "alternating": 1, "pair": 12, "single": 4,
    }


def test_run_fields(paper: dict) -> None:
    run = find_run(paper, "BC2GM", "no-mt", 100, 13)
    assert run.tasks == ("ner", "bcls", "mcls")
    assert run.pooling == "max" and run.strategy == "joint" and run.main_task == "ner"
    assert run.run_dir == "results/paper/runs/BC2GM/no-mt/frac100/seed13"
    assert find_run(paper, "BC2GM", "joint-cls", 100, 13).pooling == "cls"
    assert find_run(paper, "BC2GM", "alternating", "100", "13").strategy == "alternating"
    with pytest.raises(MtbionerError, match="not a run of the configured grid"):
        find_run(paper, "BC2GM", "joint-cls", 50, 13)


def test_filters_by_family_fraction_and_seed(paper: dict) -> None:
    config = copy.deepcopy(paper)
    config["grid"]["experiments"] = ["baseline", "joint-max"]
    config["grid"]["seeds"] = [1]
    config["data"]["fractions"] = [100, 10]
    runs = expand_grid(config)
    assert sorted((r.dataset, r.experiment, r.fraction) for r in runs) == sorted(
        (d, e, f) for d in ("BC2GM", "BC5CDR-chem", "NCBI-disease") for e in ("baseline", "joint-max")
        for f in (100, 10)
    )
    config["data"]["fractions"] = [50]
    assert {r.experiment for r in expand_grid(config)} == {"baseline", "joint-max"}
    config["grid"]["experiments"] = ["pair"]
    assert expand_grid(config) == [], "pairs exist only at 100 %"
    config["grid"]["experiments"] = ["pairs"]
    with pytest.raises(MtbionerError, match=r"grid\.experiments\.0: Input should be 'baseline'"):
        expand_grid(config)


def test_custom_datasets_join_the_grid(paper: dict) -> None:
    config = copy.deepcopy(paper)
    config["data"]["datasets"] = ["NCBI-disease"]
    config["data"]["custom_datasets"] = {"MyCorpus": {"train": "a.tsv", "test": "b.tsv"}}
    assert {run.dataset for run in expand_grid(config)} == {"NCBI-disease", "MyCorpus"}


def test_run_config_per_dataset_overrides(paper: dict) -> None:
    ncbi = find_run(paper, "NCBI-disease", "joint-max", 25, 87).config
    assert (ncbi.train.learning_rate, ncbi.train.epochs) == (1e-5, 100)
    assert ncbi.train_file == "results/paper/data/NCBI-disease/train.frac25.jsonl"
    assert ncbi.test_file == "results/paper/data/NCBI-disease/test.jsonl"
    assert ncbi.labels_file == "results/paper/data/NCBI-disease/labels.json"
    assert ncbi.model.encoder == "dmis-lab/biobert-base-cased-v1.1"
    assert (ncbi.train.batch_size, ncbi.model.max_length, ncbi.train.warmup_ratio, ncbi.train.weight_decay) == (32, 256, 0.1, 0.01)
    assert ncbi.train.loss_weights == {"ner": 0.8, "mt": 0.1, "bcls": 0.05, "mcls": 0.05}
    bc2gm = find_run(paper, "BC2GM", "joint-max", 100, 13).config
    assert (bc2gm.train.learning_rate, bc2gm.train.epochs) == (5e-5, 50)
    assert bc2gm.seed == 13 and bc2gm.fraction == 100 and bc2gm.pooling == "max"


def test_run_config_copies_model_lowercase(paper: dict) -> None:
    run = find_run(paper, "BC2GM", "baseline", 100, 13)
    assert run.config.model.lowercase == "auto"  # the paper preset lets the encoder decide
    for value in (True, False):
        config = copy.deepcopy(paper)
        config["model"]["lowercase"] = value
        assert find_run(config, "BC2GM", "baseline", 100, 13).config.model.lowercase is value


def test_loss_weights_by_family(paper: dict) -> None:
    pair = find_run(paper, "BC2GM", "pair-mcls-ner", 100, 13)
    assert pair.main_task == "mcls" and pair.tasks == ("mcls", "ner")
    assert loss_weights(paper, pair) == {"mcls": 0.8, "ner": 0.2}
    assert pair.config.train.loss_weights == {"mcls": 0.8, "ner": 0.2}
    assert loss_weights(paper, find_run(paper, "BC2GM", "single-bcls", 100, 13)) == {"bcls": 1.0}
    assert loss_weights(paper, find_run(paper, "BC2GM", "baseline", 10, 13)) == {"ner": 1.0}
    assert loss_weights(paper, find_run(paper, "BC2GM", "no-bcls", 100, 13)) == {"ner": 0.8, "mt": 0.1, "mcls": 0.05}


def test_every_run_config_validates(paper: dict) -> None:
    configs = [run.config for run in expand_grid(paper)]
    assert len({(c.dataset, c.experiment, c.fraction, c.seed) for c in configs}) == 270


#: The paper preset's 270 run directories and their run configs, as planned by the code before the typed
#: parameter model (commit bddd1f1; written by re-planning there, not by hand).
PAPER_GRID = Path(__file__).parent / "data" / "paper_grid.json.gz"


def _renamed(text: str) -> str:
    """The one rename since the golden file: the mtCLS ablation is named after its task, `mt` (docs/design.md)."""
    return text.replace("/no-mtcls/", "/no-mt/") if "/" in text else {"no-mtcls": "no-mt"}.get(text, text)


def test_the_paper_grid_is_planned_as_before(paper: dict) -> None:
    """Re-plan the paper grid: the same 270 run paths, each with the same run config, field by field and in
    the same order (config.json is what Snakemake compares to decide whether a run is stale) — but for the
    rename of the mtCLS ablation (`_renamed`), which changes 9 run paths and their `experiment` and nothing else."""
    import gzip
    import json

    before = {_renamed(run_dir): {**config, "experiment": _renamed(config["experiment"])}
              for run_dir, config in json.loads(gzip.decompress(PAPER_GRID.read_bytes())).items()}
    now = {run.run_dir: run.config.to_json_dict() for run in expand_grid(paper)}
    assert sorted(now) == sorted(before)
    for run_dir, config in before.items():
        assert list(now[run_dir].items()) == list(config.items()), run_dir
    assert sum("/no-mt/" in run_dir for run_dir in now) == 9


# ----------------------------------------------------------------------------------- blocks and cost levers
def test_cpu_preset_blocks(paper: dict) -> None:
    """config/cpu.yaml as docs/cpu/PLAN.md pre-registers it: A at 5 seeds on three datasets, the budget axis and
    the equal-steps control at NCBI-disease 10 % on 3 seeds, each seed its own draw."""
    from mtbioner.params import load_params

    cpu = load_params(ROOT, ["config/cpu.yaml"])
    runs = expand_grid(cpu)
    cells = Counter((run.dataset, run.label, run.fraction) for run in runs)
    for dataset in ("BC2GM", "BC5CDR-chem", "NCBI-disease"):  # the low-resource claim on all three datasets
        assert cells[(dataset, "baseline", 10)] == cells[(dataset, "joint-max", 10)] == 5
    for label in ("baseline@x2", "joint-max@x2", "baseline@x4", "joint-max@x4", "alternating"):
        assert cells[("NCBI-disease", label, 10)] == 3
    assert len(runs) == 45 and {run.fraction for run in runs} == {10}
    # block train overrides win over train and train.per_dataset; the steps the plan names
    epochs = {(run.dataset, run.label): run.config.train.epochs for run in runs}
    assert epochs == {("BC2GM", "baseline"): 6, ("BC2GM", "joint-max"): 6, ("BC5CDR-chem", "baseline"): 8,
                      ("BC5CDR-chem", "joint-max"): 8, ("NCBI-disease", "baseline"): 10,
                      ("NCBI-disease", "joint-max"): 10, ("NCBI-disease", "baseline@x2"): 20,
                      ("NCBI-disease", "joint-max@x2"): 20, ("NCBI-disease", "baseline@x4"): 40,
                      ("NCBI-disease", "joint-max@x4"): 40, ("NCBI-disease", "alternating"): 10}
    # only Figure 4's runs (the longest budget, NCBI-disease) score every epoch
    assert {(run.dataset, run.label) for run in runs if run.config.eval_every_epoch} == {("NCBI-disease", "joint-max@x4")}
    assert all(f"/seed{run.seed}/" in run.config.train_file for run in runs)


def test_blocks_refuse_a_run_twice_and_an_unsubsampled_fraction(paper: dict) -> None:
    config = copy.deepcopy(paper)
    config["grid"]["blocks"] = [{"experiments": ["baseline"], "fractions": [10]},
                                {"datasets": ["BC2GM"], "experiments": ["baseline"], "fractions": [10]}]
    with pytest.raises(MtbionerError, match="a run may belong to one block only"):
        expand_grid(config)
    config["grid"]["blocks"] = [{"experiments": ["baseline"], "fractions": [20]}]
    with pytest.raises(MtbionerError, match=r"fractions \[20\] are not in data.fractions"):
        expand_grid(config)
    config["grid"]["blocks"] = [{"datasets": ["BC4"], "experiments": ["baseline"]}]
    with pytest.raises(MtbionerError, match="names datasets \\['BC4'\\] that data.datasets does not list"):
        expand_grid(config)


def test_only_curve_runs_score_every_epoch_and_only_read_models_are_kept(paper: dict) -> None:
    runs = expand_grid(paper)
    every_epoch = {(run.experiment, run.fraction) for run in runs if run.config.eval_every_epoch}
    assert every_epoch == {("joint-max", 100)}
    kept = sorted((run.dataset, run.experiment) for run in runs if run.config.save_model)
    assert len(kept) == 3 * 5  # per dataset: four single-task models (TaskEmb) + joint-max's first seed
    assert all(run.seed == 13 and run.fraction == 100 for run in runs if run.config.save_model)
    assert not runs[0].config.save_model  # BC2GM baseline frac100 seed13
    config = copy.deepcopy(paper)
    config["eval"]["per_epoch"], config["train"]["keep_models"] = "all", "all"
    assert all(run.config.eval_every_epoch and run.config.save_model for run in expand_grid(config))


BUDGET_BLOCKS = [
    {"datasets": ["NCBI-disease"], "experiments": ["baseline", "joint-max", "alternating"], "fractions": [10]},
    {"name": "x4", "datasets": ["NCBI-disease"], "experiments": ["baseline", "joint-max"], "fractions": [10],
     "train": {"epochs": 400}},
    {"name": "quarter", "datasets": ["NCBI-disease"], "experiments": ["alternating"], "fractions": [10],
     "train": {"epochs": 25}},
]


def test_a_named_block_is_a_variant_beside_the_plain_runs(paper: dict) -> None:
    """A budget axis lives beside the plain runs (experiment@variant) and never collides with them."""
    config = copy.deepcopy(paper)
    config["grid"]["blocks"] = BUDGET_BLOCKS
    runs = expand_grid(config)
    dirs = {run.run_dir for run in runs}
    assert len(dirs) == len(runs)
    assert "results/paper/runs/NCBI-disease/joint-max@x4/frac10/seed13" in dirs
    assert "results/paper/runs/NCBI-disease/joint-max/frac10/seed13" in dirs
    x4 = find_run(config, "NCBI-disease", "joint-max@x4", 10, 13)
    plain = find_run(config, "NCBI-disease", "joint-max", 10, 13)
    assert (x4.variant, x4.config.train.epochs, plain.variant, plain.config.train.epochs) == ("x4", 400, "", 100)
    assert x4.label == "joint-max@x4" and x4.key != plain.key
    assert find_run(config, "NCBI-disease", "alternating@quarter", 10, 42).config.train.epochs == 25
    # the learning curve comes from the longest budget, and only those runs score every epoch
    assert {run.label for run in runs if run.config.eval_every_epoch} == {"joint-max@x4"}
    assert not any(run.config.save_model for run in runs if run.variant)  # models are served from plain runs
    with pytest.raises(MtbionerError, match="not a run of the configured grid"):
        find_run(config, "NCBI-disease", "baseline@x2", 10, 13)


def test_the_paper_preset_keeps_its_run_paths(paper: dict) -> None:
    runs = expand_grid(paper)
    assert all(run.variant == "" for run in runs)
    assert all(run.run_dir == f"results/paper/runs/{run.dataset}/{run.experiment}/frac{run.fraction}/seed{run.seed}"
               for run in runs)
    assert all(run.config.train_file == f"results/paper/data/{run.dataset}/train.frac{run.fraction}.jsonl" for run in runs)
    assert {run.label for run in runs if run.config.eval_every_epoch} == {"joint-max"}
    assert {run.fraction for run in runs if run.config.eval_every_epoch} == {100}


def test_per_seed_draws_are_shared_within_a_seed_and_differ_across_seeds(paper: dict) -> None:
    """data.subsample_per_seed: every system of a seed reads that seed's draw; other seeds read their own."""
    config = copy.deepcopy(paper)
    config["data"]["subsample_per_seed"] = True
    runs = runs_for(config, dataset="BC2GM", fraction=10)
    by_seed: dict[int, set[str]] = {}
    for run in runs:
        by_seed.setdefault(run.seed, set()).add(run.config.train_file)
    assert by_seed == {seed: {f"results/paper/data/BC2GM/seed{seed}/train.frac10.jsonl"} for seed in (13, 42, 87)}


def test_the_curve_is_one_cell_even_when_every_run_scores_every_epoch(paper: dict) -> None:
    from mtbioner.plan.grid import curve_runs

    config = copy.deepcopy(paper)
    config["eval"]["per_epoch"] = "all"
    runs = curve_runs(config, "NCBI-disease")
    assert {(run.label, run.fraction) for run in runs} == {("joint-max", 100)}
    assert sorted(run.seed for run in runs) == [13, 42, 87]
