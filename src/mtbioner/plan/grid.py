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

`grid.blocks` (optional) replaces that cross product by a union of smaller ones, for budgets that cannot
afford every family everywhere (config/cpu.yaml). Each block names `datasets`, `experiments` (families),
`fractions` and `seeds` (each defaulting to the global value; a block's `fractions` apply to every family in
it, so ablations can run at 10 %) and `train` overrides, merged over `train` and `train.per_dataset` for the
block's runs (e.g. more epochs on a 10 % subsample than on the full set). A run may belong to one block only.

Evaluation and saved models (the costly by-products of a run):
- `eval.per_epoch: curve_runs` scores the test set after every epoch only for the runs whose curves
  Figure 4 draws (`CURVE_EXPERIMENT` at `FULL`); every other run is scored once, after its last epoch. `all`
  scores every run every epoch.
- `train.keep_models: needed` saves the trained model only where something reads it: the single-task runs
  TaskEmb starts from, and per dataset the first seed of joint-max at its largest fraction (the model
  README's predict/export examples use). `all` keeps every run's model.

Loss weights (the paper gives none; SPEC section 4 takes the authors' α, β, γ, δ):
- joint runs and alternating: `train.loss_weights` as configured (its default in the params schema is the
  authors' values);
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
from mtbioner.params import param_default
from mtbioner.run.config import RunConfig
from mtbioner.tasks import TASKS

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

#: The runs whose per-epoch curves Figure 4 draws (and DVC plots): the four-task model on the full data.
CURVE_EXPERIMENT, CURVE_FRACTION = "joint-max", FULL

#: The model README's predict/export examples use, kept by `train.keep_models: needed` (first seed).
SERVING_EXPERIMENT = "joint-max"


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
    block: int = -1  # index into grid.blocks whose `train` overrides apply; -1 = no block

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
    """Every run of the configured grid: datasets × experiments × fractions × seeds (SPEC section 5), or the
    union of `grid.blocks` when given (module docstring)."""
    grid = config.get("grid", {})
    seeds = [int(s) for s in grid.get("seeds", [13])]
    if not seeds:
        raise MtbionerError("grid.seeds is empty: at least one seed is needed")
    wanted_fractions = fractions(config)
    blocks = grid.get("blocks") or []
    if not blocks:
        return _block_runs(datasets(config), list(grid.get("experiments", FAMILIES)), wanted_fractions, None,
                           seeds, -1)
    runs: list[Run] = []
    seen: dict[tuple, int] = {}
    for index, block in enumerate(blocks):
        block_datasets = list(block.get("datasets") or datasets(config))
        unknown = [name for name in block_datasets if name not in datasets(config)]
        if unknown:
            raise MtbionerError(f"grid.blocks[{index}]: datasets {unknown} are not in data.datasets or "
                                "data.custom_datasets")
        block_fractions = block.get("fractions")
        if block_fractions is not None:
            missing = sorted({int(f) for f in block_fractions} - set(wanted_fractions))
            if missing:
                raise MtbionerError(f"grid.blocks[{index}]: fractions {missing} are not in data.fractions "
                                    f"{wanted_fractions} (only those are subsampled)")
            block_fractions = sorted({int(f) for f in block_fractions}, reverse=True)
        block_seeds = [int(s) for s in block.get("seeds") or seeds]
        for run in _block_runs(block_datasets, list(block.get("experiments") or grid.get("experiments", FAMILIES)),
                               wanted_fractions, block_fractions, block_seeds, index):
            key = (run.dataset, run.experiment, run.fraction, run.seed)
            if key in seen:
                raise MtbionerError(f"{run.run_dir} is in grid.blocks[{seen[key]}] and grid.blocks[{index}]: "
                                    "a run may belong to one block only")
            seen[key] = index
            runs.append(run)
    return runs


def _block_runs(block_datasets: list[str], families: list[str], wanted_fractions: list[int],
                block_fractions: list[int] | None, seeds: list[int], block: int) -> list[Run]:
    runs: list[Run] = []
    for dataset in block_datasets:
        for family in families:
            for experiment, tasks, main_task, pooling, strategy, every_fraction in _family_runs(family):
                if block_fractions is not None:
                    run_fractions = block_fractions
                else:
                    run_fractions = wanted_fractions if every_fraction else [FULL]
                for fraction in run_fractions:
                    if fraction not in wanted_fractions:
                        continue
                    for seed in seeds:
                        runs.append(Run(dataset, experiment, fraction, seed, tasks, main_task, pooling, strategy,
                                        family, block))
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


def train_settings(config: dict[str, Any], dataset: str, block: int = -1) -> dict[str, Any]:
    """`train` section with `train.per_dataset[dataset]` merged over it (e.g. NCBI-disease's lr and epochs),
    then the `train` overrides of grid block `block` (if any)."""
    train = copy.deepcopy(config.get("train", {}))
    per_dataset = train.pop("per_dataset", {}) or {}
    for key, value in (per_dataset.get(dataset) or {}).items():
        train[key] = value
    if block >= 0:
        for key, value in (config["grid"]["blocks"][block].get("train") or {}).items():
            train[key] = value
    return train


def largest_fraction(config: dict[str, Any], dataset: str, experiment: str) -> int | None:
    """The largest fraction at which `experiment` runs on `dataset` (None if it does not)."""
    found = [run.fraction for run in runs_for(config, dataset=dataset, experiment=experiment)]
    return max(found, default=None)


def is_curve_run(run: Run) -> bool:
    return run.experiment == CURVE_EXPERIMENT and run.fraction == CURVE_FRACTION


def keeps_model(config: dict[str, Any], run: Run) -> bool:
    """Whether the run saves its trained model (`train.keep_models`, module docstring)."""
    if config.get("train", {}).get("keep_models", param_default("train", "keep_models")) == "all":
        return True
    if run.family != "single" and run.experiment != SERVING_EXPERIMENT:
        return False
    peers = runs_for(config, dataset=run.dataset, experiment=run.experiment)
    largest = max(peer.fraction for peer in peers)
    first_seed = min(peer.seed for peer in peers if peer.fraction == largest)
    return run.fraction == largest and run.seed == first_seed


def evaluates_every_epoch(config: dict[str, Any], run: Run) -> bool:
    """Whether the run scores the test set after every epoch (`eval.per_epoch`, module docstring)."""
    per_epoch = config.get("eval", {}).get("per_epoch", param_default("eval", "per_epoch"))
    return per_epoch == "all" or is_curve_run(run)


def loss_weights(config: dict[str, Any], run: Run) -> dict[str, float]:
    """The loss weight of each task of the run (module docstring: how and why)."""
    if len(run.tasks) == 1:
        return {run.tasks[0]: 1.0}
    if run.family == "pair":
        main_weight = float(config.get("grid", {}).get("pair_main_weight", param_default("grid", "pair_main_weight")))
        secondary = next(task for task in run.tasks if task != run.main_task)
        return {run.main_task: main_weight, secondary: round(1.0 - main_weight, 10)}
    configured = train_settings(config, run.dataset, run.block).get("loss_weights") or {}
    weights = {**param_default("train", "loss_weights"), **configured}
    return {task: float(weights[task]) for task in run.tasks}


def data_dir(dataset: str) -> str:
    return f"results/data/{dataset}"


def train_file(dataset: str, fraction: int | str) -> str:
    return f"{data_dir(dataset)}/train.frac{fraction}.jsonl"


def run_config(config: dict[str, Any], run: Run) -> RunConfig:
    """The resolved RunConfig of one run: model, per-dataset training settings, data files, loss weights."""
    model = config.get("model", {})
    train = train_settings(config, run.dataset, run.block)
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
        "eval_every_epoch": evaluates_every_epoch(config, run),
        "save_model": keeps_model(config, run),
    }
    for key in ("encoder", "lowercase", "dropout", "max_length"):
        if key in model:
            fields[key] = model[key]
    for key in ("batch_size", "learning_rate", "epochs", "warmup_ratio", "weight_decay", "grad_clip", "precision",
                "checkpoint_every_epoch", "deterministic"):
        if key in train:
            fields[key] = train[key]
    return RunConfig.from_json_text(json.dumps(fields), origin=f"run config of {run.run_dir}")

