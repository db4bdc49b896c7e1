"""The experiment grid of SPEC section 5: the one place that turns params.yaml into runs.

Snakemake (workflow/rules/common.smk), DVC (through Snakemake), the report and the tests all read the grid
from here, so no list of run directories is written by hand anywhere.

Per dataset and seed the full grid has 30 runs:

| family       | experiments                                   | tasks          | fractions       |
|--------------|-----------------------------------------------|----------------|-----------------|
| baseline     | baseline                                      | ner            | every fraction  |
| joint-cls/-mean/-max | joint-cls, joint-mean, joint-max      | all 4          | 100 (joint-max: every fraction) |
| ablation     | no-bcls, no-mcls, no-mtcls                    | all but one    | 100             |
| alternating  | alternating                                   | all 4          | 100             |
| pair         | pair-<main>-<secondary> (4 × 3 = 12)          | main+secondary | 100             |
| single       | single-<task> (4)                             | one task       | 100             |

`grid.experiments` in params names the families to build; `data.fractions` limits the fractions (a run
whose fraction is not listed is not built).

Loss weights (the paper gives none; SPEC section 4 takes the authors' α=0.8, β=0.1, γ=0.05, δ=0.05):
- joint runs and alternating: `train.loss_weights` as configured (default the authors' values);
- ablations: the remaining tasks keep their weights, the dropped task's term is simply removed from the loss
  (not renormalised: "w/o bCLS" means the same objective minus one term);
- pair-<main>-<secondary>: main task α = 0.8, secondary 1 − α = 0.2 (`grid.pair_main_weight`), i.e. the main
  task is weighted like NER in the four-task model, as SPEC's "main weighted as α" asks;
- single-task runs and the baseline: the one task has weight 1.0 (a plain fine-tuning loss).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Iterable

from mtbioner.errors import MtbionerError
from mtbioner.runconfig import RunConfig
from mtbioner.tasks import DEFAULT_LOSS_WEIGHTS, TASKS

#: Families of experiments, in the order of the paper's tables and figures.
FAMILIES: tuple[str, ...] = (
    "baseline",
    "joint-cls",
    "joint-mean",
    "joint-max",
    "ablation",
    "alternating",
    "pair",
    "single",
)

#: Full-data fraction (percent); everything except baseline and joint-max is trained only on it.
FULL = 100

#: The task an ablation drops, by experiment name (the paper's names; mtCLS is task `mt`).
ABLATIONS: dict[str, str] = {"no-bcls": "bcls", "no-mcls": "mcls", "no-mtcls": "mt"}

#: Default weight of the main task in pair-wise runs (the secondary task gets 1 − this).
DEFAULT_PAIR_MAIN_WEIGHT = 0.8


@dataclass(frozen=True, order=True)
class Run:
    """One cell of the grid: one training run with its own directory."""

    dataset: str
    experiment: str
    fraction: int
    seed: int
    tasks: tuple[str, ...]
    main_task: str
    pooling: str
    strategy: str
    family: str

    @property
    def run_dir(self) -> str:
        return run_dir(self.dataset, self.experiment, self.fraction, self.seed)

    @property
    def metrics_file(self) -> str:
        return f"{self.run_dir}/metrics.json"


def run_dir(dataset: str, experiment: str, fraction: int | str, seed: int | str) -> str:
    """`results/runs/{dataset}/{experiment}/frac{fraction}/seed{seed}` (design.md, "Files the DAG writes")."""
    return f"results/runs/{dataset}/{experiment}/frac{fraction}/seed{seed}"


def _family_runs(family: str) -> list[tuple[str, tuple[str, ...], str, str, str, bool]]:
    """(experiment, tasks, main_task, pooling, strategy, at_every_fraction) of one family."""
    all_tasks = tuple(TASKS)
    if family == "baseline":
        # The paper's SOTA*: BioBERT fine-tuned for NER only; pooling is unused without sentence heads.
        return [("baseline", ("ner",), "ner", "max", "joint", True)]
    if family in ("joint-cls", "joint-mean", "joint-max"):
        pooling = family.split("-", 1)[1]
        # Table 3 cuts the training set only for the best model (joint-max) and the baseline.
        return [(family, all_tasks, "ner", pooling, "joint", pooling == "max")]
    if family == "ablation":
        return [
            (name, tuple(t for t in all_tasks if t != dropped), "ner", "max", "joint", False)
            for name, dropped in ABLATIONS.items()
        ]
    if family == "alternating":
        return [("alternating", all_tasks, "ner", "max", "alternating", False)]
    if family == "pair":
        return [
            (f"pair-{main}-{secondary}", (main, secondary), main, "max", "joint", False)
            for main in all_tasks
            for secondary in all_tasks
            if secondary != main
        ]
    if family == "single":
        return [(f"single-{task}", (task,), task, "max", "joint", False) for task in all_tasks]
    raise MtbionerError(f"unknown experiment family {family!r}; valid: {', '.join(FAMILIES)}")


def datasets(config: dict[str, Any]) -> list[str]:
    """Corpus datasets followed by own corpora (`data.custom_datasets`), without repeats, in order."""
    data = config.get("data", {})
    names = list(data.get("datasets", []))
    for name in data.get("custom_datasets", {}) or {}:
        if name not in names:
            names.append(name)
    return names


def fractions(config: dict[str, Any]) -> list[int]:
    """Training-set fractions (percent), largest first, as subsampling writes them."""
    values = sorted({int(f) for f in config.get("data", {}).get("fractions", [FULL])}, reverse=True)
    for value in values:
        if not 1 <= value <= 100:
            raise MtbionerError(f"data.fractions: {value} is not a percentage in 1..100")
    return values


def expand_grid(config: dict[str, Any]) -> list[Run]:
    """Every run of the configured grid: datasets × experiments × fractions × seeds (SPEC section 5)."""
    grid = config.get("grid", {})
    families = list(grid.get("experiments", FAMILIES))
    seeds = [int(s) for s in grid.get("seeds", [13])]
    wanted_fractions = fractions(config)
    if not seeds:
        raise MtbionerError("grid.seeds is empty: at least one seed is needed")
    runs: list[Run] = []
    for dataset in datasets(config):
        for family in families:
            for experiment, tasks, main_task, pooling, strategy, every_fraction in _family_runs(family):
                run_fractions = wanted_fractions if every_fraction else [FULL]
                for fraction in run_fractions:
                    if fraction not in wanted_fractions:
                        continue
                    for seed in seeds:
                        runs.append(
                            Run(dataset, experiment, fraction, seed, tasks, main_task, pooling, strategy, family)
                        )
    return runs


def runs_for(
    config: dict[str, Any],
    dataset: str | None = None,
    experiment: str | None = None,
    fraction: int | None = None,
    seed: int | None = None,
    family: str | None = None,
) -> list[Run]:
    """The runs of the grid that match every given field (None = any)."""
    return [
        run
        for run in expand_grid(config)
        if (dataset is None or run.dataset == dataset)
        and (experiment is None or run.experiment == experiment)
        and (fraction is None or run.fraction == int(fraction))
        and (seed is None or run.seed == int(seed))
        and (family is None or run.family == family)
    ]


def find_run(config: dict[str, Any], dataset: str, experiment: str, fraction: int | str, seed: int | str) -> Run:
    """The run with these wildcards; MtbionerError if the grid has none (e.g. a filtered-out experiment)."""
    matches = runs_for(config, dataset=dataset, experiment=experiment, fraction=int(fraction), seed=int(seed))
    if not matches:
        raise MtbionerError(
            f"{run_dir(dataset, experiment, fraction, seed)} is not a run of the configured grid "
            "(check data.datasets, data.fractions, grid.experiments and grid.seeds)"
        )
    return matches[0]


def train_settings(config: dict[str, Any], dataset: str) -> dict[str, Any]:
    """`train` section with `train.per_dataset[dataset]` merged over it (e.g. NCBI-disease's lr and epochs)."""
    train = copy.deepcopy(config.get("train", {}))
    per_dataset = train.pop("per_dataset", {}) or {}
    for key, value in (per_dataset.get(dataset) or {}).items():
        train[key] = value
    return train


def loss_weights(config: dict[str, Any], run: Run) -> dict[str, float]:
    """The loss weight of each task of the run (module docstring: how and why)."""
    if len(run.tasks) == 1:
        return {run.tasks[0]: 1.0}
    if run.family == "pair":
        main_weight = float(config.get("grid", {}).get("pair_main_weight", DEFAULT_PAIR_MAIN_WEIGHT))
        secondary = next(task for task in run.tasks if task != run.main_task)
        return {run.main_task: main_weight, secondary: round(1.0 - main_weight, 10)}
    configured = train_settings(config, run.dataset).get("loss_weights") or {}
    weights = {**DEFAULT_LOSS_WEIGHTS, **configured}
    return {task: float(weights[task]) for task in run.tasks}


def data_dir(dataset: str) -> str:
    return f"results/data/{dataset}"


def train_file(dataset: str, fraction: int | str) -> str:
    return f"{data_dir(dataset)}/train.frac{fraction}.jsonl"


def run_config(config: dict[str, Any], run: Run) -> RunConfig:
    """The resolved RunConfig of one run: model, per-dataset training settings, data files, loss weights."""
    model = config.get("model", {})
    train = train_settings(config, run.dataset)
    evaluation = config.get("eval", {})
    fields: dict[str, Any] = {
        "dataset": run.dataset,
        "experiment": run.experiment,
        "fraction": run.fraction,
        "seed": run.seed,
        "train_file": train_file(run.dataset, run.fraction),
        "test_file": f"{data_dir(run.dataset)}/test.jsonl",
        "labels_file": f"{data_dir(run.dataset)}/labels.json",
        "tasks": run.tasks,
        "main_task": run.main_task,
        "pooling": run.pooling,
        "strategy": run.strategy,
        "loss_weights": loss_weights(config, run),
        "max_test_sentences": evaluation.get("max_test_sentences"),
    }
    for key in ("encoder", "lowercase", "dropout", "max_length"):
        if key in model:
            fields[key] = model[key]
    for key in ("batch_size", "learning_rate", "epochs", "warmup_ratio", "weight_decay", "grad_clip", "precision",
                "checkpoint_every_epoch"):
        if key in train:
            fields[key] = train[key]
    return RunConfig.from_json_text(json.dumps(fields), origin=f"run config of {run.run_dir}")

