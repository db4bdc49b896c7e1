"""The experiment grid of SPEC section 5: the one place that turns params.yaml into runs.

Snakemake (workflow/rules/common.smk), DVC (through Snakemake), the report and the tests all read the grid
from here, so no list of run directories is written by hand anywhere.

Per dataset and seed the full grid has 30 runs:

| family       | experiments                                   | tasks          | fractions       |
|--------------|-----------------------------------------------|----------------|-----------------|
| baseline     | baseline                                      | ner            | every fraction  |
| joint-cls/-mean/-max | joint-cls, joint-mean, joint-max      | all 4          | 100 (joint-max: every fraction) |
| ablation     | no-bcls, no-mcls, no-mt                       | all but one    | 100             |
| alternating  | alternating                                   | all 4          | 100             |
| pair         | pair-<main>-<secondary> (4 × 3 = 12)          | main+secondary | 100             |
| single       | single-<task> (4)                             | one task       | 100             |

`grid.experiments` in params names the families to build; `data.fractions` limits the fractions (a run
whose fraction is not listed is not built). `grid.tasks` names the tasks the families combine (the table's
"all 4": the paper's, by default): with a fifth task (a preset that lists one) joint runs train five heads,
the ablation family gains no-<its name>, pair and single range over five tasks.

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
  README's predict/export examples use), and the run `tag.model` names for the tagging stage. `all` keeps
  every run's model.

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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtbioner.data.files import DataFiles
from mtbioner.errors import MtbionerError
from mtbioner.param_model import FAMILIES, Params, TrainParams, TrainSettings
from mtbioner.params import as_params, results_root
from mtbioner.plan.tag import tag_run_key
from mtbioner.run.config import RunConfig
from mtbioner.run.directory import RunFiles, RunIdentity, experiment_label, parse_label, run_path
from mtbioner.tasks import NER, ordered


#: Full-data fraction (percent); everything except baseline and joint-max is trained only on it.
FULL = 100

#: What every function here takes: the typed parameters, or a mapping `as_params` validates into them.
Config = Params | dict[str, Any]


def ablations(tasks: tuple[str, ...]) -> dict[str, str]:
    """The task each ablation drops, by experiment name: `no-<task name>` of every auxiliary task (no-mt,
    no-bcls, no-mcls: the paper's w/o mtCLS, bCLS, mCLS), in name order (the paper grid's)."""
    return {f"no-{task}": task for task in sorted(tasks) if task != NER}

#: The experiment whose per-epoch curves Figure 4 draws (and DVC plots), at its longest budget (`curve_runs`).
CURVE_EXPERIMENT = "joint-max"

#: The model README's predict/export examples use, kept by `train.keep_models: needed` (first seed).
SERVING_EXPERIMENT = "joint-max"


@dataclass(frozen=True)
class Run(RunIdentity):
    """One cell of the grid: the planned run's `RunConfig` (what `mtbioner train` gets), and the family and
    grid block it comes from. A finished run read back (`mtbioner.run.directory.FinishedRun`) shares its
    identity (`RunIdentity`): the record is the RunConfig in both."""

    config: RunConfig = field(repr=False)
    family: str
    root: str  # the configuration's results tree (`mtbioner.params.results_root`), e.g. results/paper
    block: int = -1  # index into grid.blocks whose `train` overrides apply; -1 = no block
    draws_curve: bool = False  # one of the cell Figure 4 draws (`_curve_cells`), whatever eval.per_epoch says

    @property
    def main_task(self) -> str:
        return self.config.main_task

    @property
    def pooling(self) -> str:
        return self.config.pooling

    @property
    def strategy(self) -> str:
        return self.config.strategy

    @property
    def run_dir(self) -> str:
        return run_path(self.root, self.dataset, self.experiment, self.fraction, self.seed, self.variant)

    @property
    def metrics_file(self) -> str:
        return str(RunFiles(Path(self.run_dir)).metrics)


@dataclass(frozen=True)
class _Cell:
    """A grid cell before its RunConfig exists (whether it keeps its model depends on its peers)."""

    dataset: str
    experiment: str
    fraction: int
    seed: int
    tasks: tuple[str, ...]
    main_task: str
    pooling: str
    strategy: str
    family: str
    block: int
    root: str
    variant: str = ""

    @property
    def key(self) -> tuple[str, str, str, int, int]:
        return (self.dataset, self.experiment, self.variant, self.fraction, self.seed)


def grid_tasks(config: Config) -> tuple[str, ...]:
    """`grid.tasks` in canonical order, checked: registered names, NER among them (the families train it)."""
    names = list(as_params(config).grid.tasks)
    try:
        tasks = tuple(task.name for task in ordered(names))
    except MtbionerError as error:
        raise MtbionerError(f"grid.tasks: {error}") from None
    if NER not in tasks:
        raise MtbionerError(f"grid.tasks {names} lacks {NER!r}: every family but pair and single trains it")
    return tasks


def _family_runs(family: str, all_tasks: tuple[str, ...]) -> list[tuple[str, tuple[str, ...], str]]:
    """(experiment, tasks, main_task) of each run of one family over `all_tasks`; what the family's runs share
    (pooling, strategy, fractions) is its entry in `mtbioner.param_model.FAMILIES`."""
    if family not in FAMILIES:
        raise MtbionerError(f"unknown experiment family {family!r}; valid: {', '.join(FAMILIES)}")
    if family == "baseline":  # the paper's SOTA*: BioBERT fine-tuned for NER only
        return [("baseline", (NER,), NER)]
    if family == "ablation":
        return [(name, tuple(t for t in all_tasks if t != dropped), NER) for name, dropped in ablations(all_tasks).items()]
    if family == "pair":
        return [(f"pair-{main}-{secondary}", (main, secondary), main)
                for main in all_tasks for secondary in all_tasks if secondary != main]
    if family == "single":
        return [(f"single-{task}", (task,), task) for task in all_tasks]
    return [(family, all_tasks, NER)]  # joint-cls/-mean/-max and alternating: every task, NER scored


def datasets(config: Config) -> list[str]:
    """Corpus datasets followed by own corpora (`data.custom_datasets`), without repeats, in order."""
    data = as_params(config).data
    names = list(data.datasets)
    for name in data.custom_datasets:
        if name not in names:
            names.append(name)
    return names


def fractions(config: Config) -> list[int]:
    """Training-set fractions (percent), largest first, as subsampling writes them."""
    values = sorted(set(as_params(config).data.fractions), reverse=True)
    for value in values:
        if not 1 <= value <= 100:
            raise MtbionerError(f"data.fractions: {value} is not a percentage in 1..100")
    return values


def expand_grid(config: Config) -> list[Run]:
    """Every run of the configured grid: datasets × experiments × fractions × seeds (SPEC section 5), or the
    union of `grid.blocks` when given (module docstring). Memoised per configuration: a DAG parse asks for
    the grid once per job."""
    params = as_params(config)
    key = params.model_dump_json()
    if key not in _EXPANDED:
        _EXPANDED[key] = tuple(_runs_of(params, _cells(params)))
    return list(_EXPANDED[key])


_EXPANDED: dict[str, tuple[Run, ...]] = {}


def _cells(config: Params) -> list[_Cell]:
    grid = config.grid
    seeds = list(grid.seeds)
    wanted_fractions = fractions(config)
    if not grid.blocks:
        return _block_cells(results_root(config), datasets(config), list(grid.experiments), grid_tasks(config),
                            wanted_fractions, None, seeds, -1)
    cells: list[_Cell] = []
    seen: dict[tuple, int] = {}
    for index, block in enumerate(grid.blocks):
        block_datasets = list(block.datasets or datasets(config))
        unknown = [name for name in block_datasets if name not in datasets(config)]
        if unknown:
            raise MtbionerError(f"grid.blocks[{index}] names datasets {unknown} that data.datasets does not list "
                                f"({', '.join(datasets(config))}): add them to data.datasets, or give grid.blocks "
                                "without them in your overlay (an overlay's list replaces the preset's)")
        block_fractions = block.fractions
        if block_fractions is not None:
            missing = sorted({int(f) for f in block_fractions} - set(wanted_fractions))
            if missing:
                raise MtbionerError(f"grid.blocks[{index}]: fractions {missing} are not in data.fractions "
                                    f"{wanted_fractions} (only those are subsampled)")
            block_fractions = sorted({int(f) for f in block_fractions}, reverse=True)
        block_seeds = list(block.seeds or seeds)
        for cell in _block_cells(results_root(config), block_datasets, list(block.experiments or grid.experiments),
                                 grid_tasks(config), wanted_fractions, block_fractions, block_seeds, index,
                                 block.name or ""):
            if cell.key in seen:
                raise MtbionerError(f"{_cell_path(cell)} is in grid.blocks[{seen[cell.key]}] and "
                                    f"grid.blocks[{index}]: a run may belong to one block only (name a block to "
                                    "make its runs a variant of their own)")
            seen[cell.key] = index
            cells.append(cell)
    return cells


def _cell_path(cell: _Cell) -> str:
    return run_path(cell.root, cell.dataset, cell.experiment, cell.fraction, cell.seed, cell.variant)


def _block_cells(root: str, block_datasets: list[str], families: list[str], combined: tuple[str, ...],
                 wanted_fractions: list[int], block_fractions: list[int] | None, seeds: list[int], block: int, variant: str = "") -> list[_Cell]:
    cells: list[_Cell] = []
    for dataset in block_datasets:
        for family in families:
            members = _family_runs(family, combined)  # one error for an unknown family
            shared = FAMILIES[family]
            for experiment, tasks, main_task in members:
                if block_fractions is not None:
                    run_fractions = block_fractions
                else:
                    run_fractions = wanted_fractions if shared.every_fraction else [FULL]
                for fraction in run_fractions:
                    if fraction not in wanted_fractions:
                        continue
                    for seed in seeds:
                        cells.append(_Cell(dataset, experiment, fraction, seed, tasks, main_task, shared.pooling,
                                           shared.strategy, family, block, root, variant))
    return cells


def _runs_of(config: Params, cells: list[_Cell]) -> list[Run]:
    """The cells with their RunConfigs. Whether a run keeps its model or scores every epoch depends on its
    peers (module docstring), so both are decided over all cells first."""
    plain = [cell for cell in cells if not cell.variant]  # models are served from the plain runs
    largest: dict[tuple[str, str], int] = {}
    for cell in plain:
        peers = (cell.dataset, cell.experiment)
        largest[peers] = max(largest.get(peers, cell.fraction), cell.fraction)
    first_seed: dict[tuple[str, str], int] = {}
    for cell in plain:
        peers = (cell.dataset, cell.experiment)
        if cell.fraction == largest[peers]:
            first_seed[peers] = min(first_seed.get(peers, cell.seed), cell.seed)
    keep_all = config.train.keep_models == "all"
    tagged = tag_run_key(config)  # the run `tag.model` names tags the corpus: it needs its model
    curves = _curve_cells(config, cells)
    runs = []
    for cell in cells:
        peers = (cell.dataset, cell.experiment)
        keeps = keep_all or (not cell.variant and (cell.family == "single" or cell.experiment == SERVING_EXPERIMENT)
                             and cell.fraction == largest[peers] and cell.seed == first_seed[peers])
        keeps = keeps or tagged == (cell.dataset, experiment_label(cell.experiment, cell.variant), cell.fraction,
                                    cell.seed)
        every_epoch = config.eval.per_epoch == "all" or cell.key in curves
        runs.append(Run(_run_config(config, cell, keeps, every_epoch), cell.family, cell.root, cell.block,
                        cell.key in curves))
    return runs


def _curve_cells(config: Params, cells: list[_Cell]) -> set[tuple]:
    """Keys of the runs whose per-epoch curves Figure 4 draws: per dataset, the `CURVE_EXPERIMENT` cell (fraction
    and variant) that trains the most epochs — the longest budget shows convergence best — preferring, on a tie,
    the larger fraction and then the plain run (at the paper's settings: joint-max at 100 %)."""
    best: dict[str, tuple] = {}
    wanted = config.eval.curve_datasets
    for cell in cells:
        if cell.experiment != CURVE_EXPERIMENT or (wanted is not None and cell.dataset not in wanted):
            continue
        epochs = train_settings(config, cell.dataset, cell.block).epochs
        rank = (epochs, cell.fraction, not cell.variant)
        if cell.dataset not in best or rank > best[cell.dataset][0]:
            best[cell.dataset] = (rank, cell.fraction, cell.variant)
    return {cell.key for cell in cells if cell.dataset in best and cell.experiment == CURVE_EXPERIMENT
            and best[cell.dataset][1:] == (cell.fraction, cell.variant)}


def curve_runs(config: Config, dataset: str) -> list[Run]:
    """The runs (all seeds) whose per-epoch test scores make `dataset`'s learning curve (Figure 4, dvc plots):
    the cell `_curve_cells` picks, also when `eval.per_epoch: all` makes every run score every epoch."""
    return [run for run in expand_grid(config) if run.dataset == dataset and run.draws_curve]


def runs_for(
    config: Config,
    dataset: str | None = None,
    experiment: str | None = None,
    fraction: int | None = None,
    seed: int | None = None,
    family: str | None = None,
    variant: str | None = None,
) -> list[Run]:
    """The runs of the grid that match every given field (None = any; variant "" = the plain runs only)."""
    return [
        run
        for run in expand_grid(config)
        if (dataset is None or run.dataset == dataset)
        and (experiment is None or run.experiment == experiment)
        and (fraction is None or run.fraction == int(fraction))
        and (seed is None or run.seed == int(seed))
        and (family is None or run.family == family)
        and (variant is None or run.variant == variant)
    ]


def find_run(config: Config, dataset: str, label: str, fraction: int | str, seed: int | str) -> Run:
    """The run with these wildcards (`label`: the experiment, or `experiment@variant`); MtbionerError if the grid
    has none (e.g. a filtered-out experiment)."""
    experiment, variant = parse_label(label)
    matches = runs_for(config, dataset=dataset, experiment=experiment, fraction=int(fraction), seed=int(seed),
                       variant=variant)
    if not matches:
        raise MtbionerError(
            f"{run_path(results_root(config), dataset, experiment, fraction, seed, variant)} is not a run of the configured grid "
            "(check data.datasets, data.fractions, grid.experiments, grid.seeds and grid.blocks)"
        )
    return matches[0]


def train_settings(config: Config, dataset: str, block: int = -1) -> TrainSettings:
    """The `train` settings of a run: `train` with `train.per_dataset[dataset]` over it (e.g. NCBI-disease's lr
    and epochs), then the `train` overrides of grid block `block` (if any); a key an override leaves out keeps
    the value below it."""
    params = as_params(config)
    settings = params.train.model_dump(exclude=TrainParams.GRID_WIDE)
    overrides = [params.train.per_dataset.get(dataset), params.grid.blocks[block].train if block >= 0 else None]
    for override in overrides:
        if override is not None:
            settings.update(override.model_dump(exclude_none=True))
    return TrainSettings.model_validate(settings)


def loss_weights(config: Config, run: Run | _Cell) -> dict[str, float]:
    """The loss weight of each task of the run (module docstring: how and why)."""
    if len(run.tasks) == 1:
        return {run.tasks[0]: 1.0}
    if run.family == "pair":
        main_weight = as_params(config).grid.pair_main_weight
        secondary = next(task for task in run.tasks if task != run.main_task)
        return {run.main_task: main_weight, secondary: round(1.0 - main_weight, 10)}
    weights = train_settings(config, run.dataset, run.block).loss_weights
    return {task: float(weights[task]) for task in run.tasks}


def data_root(config: Config) -> str:
    """`results/<name>/data`: the prepared data of every dataset of this configuration."""
    return f"{results_root(config)}/data"


def data_files(config: Config, dataset: str) -> DataFiles:
    """The prepared-data folder of one dataset in this configuration's tree."""
    return DataFiles(f"{data_root(config)}/{dataset}")


def train_file(config: Config, dataset: str, fraction: int | str, seed: int | str) -> str:
    """The training file of a run: the dataset's one nested draw, or with `data.subsample_per_seed` the draw
    of the run's seed (all systems of a seed share it; mtbioner.data.subsample)."""
    per_seed = as_params(config).data.subsample_per_seed
    return data_files(config, dataset).subsample(fraction, seed if per_seed else None)


def _run_config(config: Params, cell: _Cell, keeps_model: bool, every_epoch: bool) -> RunConfig:
    """The RunConfig of one cell, built from the validated parameters: the `model` settings, the `train` settings
    of its dataset and block (`train_settings`) with the loss weights the grid gives it (`loss_weights`), the data
    files and what the grid decides (tasks, pooling, strategy, scoring every epoch, keeping the model)."""
    train = train_settings(config, cell.dataset, cell.block).model_copy(update={"loss_weights": loss_weights(config, cell)})
    files = data_files(config, cell.dataset)
    fields = dict(
        dataset=cell.dataset, experiment=cell.experiment, variant=cell.variant, fraction=cell.fraction,
        seed=cell.seed, train_file=train_file(config, cell.dataset, cell.fraction, cell.seed), test_file=files.test,
        labels_file=files.labels, tasks=cell.tasks, main_task=cell.main_task, pooling=cell.pooling,
        strategy=cell.strategy, max_test_sentences=config.eval.max_test_sentences, eval_every_epoch=every_epoch,
        save_model=keeps_model, model=config.model.model_copy(), train=train)
    return RunConfig.validated(fields, origin=f"run config of {_cell_path(cell)}")
