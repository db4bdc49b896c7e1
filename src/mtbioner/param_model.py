"""The workflow's parameters as one tree of typed models: the one home of every parameter's type, range,
default and help text.

`Params` is what params.yaml, the presets in config/ and `--config` overlays describe. From it come:
- the JSON Schema Snakemake validates the merged configuration against (`json_schema`, written to
  `resources/params.schema.yaml` by `make params`; a test keeps the committed file equal to it), and through
  that schema `mtbioner.params.param_default` and the command-line options of parameters
  (`mtbioner.cli.options.param_option`);
- config/paper.yaml (every default) and config/README.md's parameter reference (`mtbioner.params`);
- the optional per-dataset/per-block overrides (`TrainOverrides`) and a run's resolved train settings
  (`TrainSettings`), derived from `TrainParams`' fields (`_derived`), which `mtbioner.run.config.RunConfig`
  carries beside `ModelParams`: a setting is declared once.

A parameter is added here, once: its section model gets a field (type, default, description) and the code
that uses it reads it from the configuration (docs/design.md, "How to add a parameter").

Foundation module: imports nothing of mtbioner, so every layer may read the types (pooling, strategy,
precision) from here.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.json_schema import GenerateJsonSchema, SkipJsonSchema

#: A dataset's or configuration's name: a folder name of results/<name>/ and of the prepared data.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _no_repeats(values: list[Any]) -> list[Any]:
    keys = [json.dumps(value, sort_keys=True) for value in values]
    if len(set(keys)) != len(keys):
        raise ValueError(f"items must be unique: {values}")
    return values


def _names_match(mapping: dict[str, Any]) -> dict[str, Any]:
    bad = [name for name in mapping if not re.match(NAME_PATTERN, name)]
    if bad:
        raise ValueError(f"names {bad} do not match {NAME_PATTERN}")
    return mapping


def unique_list(item: Any, **constraints: Any) -> Any:
    """A list type whose items may not repeat (JSON Schema `uniqueItems`), with `min_length` etc."""
    return Annotated[list[item], Field(json_schema_extra={"uniqueItems": True}, **constraints),
                     AfterValidator(_no_repeats)]


# Value types that a run's config (RunConfig) shares with the parameters: one range and help text each.
Pooling = Literal["cls", "mean", "max"]
#: The sentence heads' poolings of the encoder output (SPEC section 3).
POOLINGS: tuple[str, ...] = get_args(Pooling)
Strategy = Literal["joint", "alternating"]
Encoder = Annotated[str, Field(min_length=1, description="'tiny', 'minilm', an HF model id or a local path")]
Lowercase = Annotated[Literal["auto", True, False], Field(
    description="tokenizer lowercasing; auto keeps case unless the encoder is uncased (its tokenizer config, else "
    "its vocabulary, decides); a run's config.json records the resolved true/false")]
Dropout = Annotated[float, Field(ge=0, lt=1)]
MaxLength = Annotated[int, Field(ge=8, description="sub-tokens per window incl. special tokens")]
BatchSize = Annotated[int, Field(ge=1)]
LearningRate = Annotated[float, Field(gt=0)]
Epochs = Annotated[int, Field(ge=1)]
WarmupRatio = Annotated[float, Field(ge=0, lt=1)]
WeightDecay = Annotated[float, Field(ge=0)]
GradClip = Annotated[float, Field(gt=0)]
Precision = Annotated[Literal["auto", "fp32", "bf16", "fp16"], Field(
    description="auto = bf16 autocast on a CUDA device that supports it, else fp32; bf16 also on CPUs with "
    "native bf16 (src/mtbioner/model/precision.py)")]
#: Keys are task names of the registry (src/mtbioner/tasks/): the grid's run configs check them, so the
#: parameters do not list the tasks again (a new task needs no parameter change).
LossWeights = Annotated[dict[str, Annotated[float, Field(ge=0)]], Field(
    description="α, β, γ, δ of the joint loss (SPEC section 4) by task name; defaults are the authors'")]
Deterministic = Annotated[bool, Field(
    description="bit-identical GPU reruns (torch deterministic algorithms), at a speed cost")]
CheckpointMinutes = Annotated[float | None, Field(
    gt=0, description="a resumable checkpoint (model + optimizer state, exact resume) after the step at which "
    "this many minutes of training have passed since the last one; another when SIGTERM/SIGUSR1 asks the job "
    "to stop (SLURM's --signal); null = only then. 30: a BioBERT checkpoint (1.3 GB with AdamW state) takes "
    "seconds to write (benchmarks/gpu_check.py, phase checkpoint; docs/USAGE.md, 'What a preset costs'), so a long "
    "job spends well under 1 % of its time writing and loses at most 30 minutes to a crash; runs shorter write none")]
MaxTestSentences = Annotated[int | None, Field(
    ge=1, description="evaluate on this prefix of test (CPU presets); null = the whole test set")]
Fraction = Annotated[int, Field(ge=1, le=100, description="percentage of train ∪ devel")]


class Family(NamedTuple):
    """What an experiment family's runs share: the sentence heads' pooling, the training strategy, and whether
    it is trained at every fraction of data.fractions (else at 100 % only). Its runs (experiments, tasks, main
    task) are expanded over grid.tasks by `mtbioner.plan.grid`."""

    pooling: Pooling = "max"
    strategy: Strategy = "joint"
    every_fraction: bool = False


#: The experiment families of SPEC section 5, in the order of the paper's tables. Pooling is a property of the
#: family (joint-cls/-mean/-max differ in it alone), unused by the baseline, which has no sentence head.
#: Table 3 cuts the training set only for the best model (joint-max) and the baseline.
FAMILIES: dict[str, Family] = {
    "baseline": Family(every_fraction=True),
    "joint-cls": Family(pooling="cls"),
    "joint-mean": Family(pooling="mean"),
    "joint-max": Family(pooling="max", every_fraction=True),
    "ablation": Family(),
    "alternating": Family(strategy="alternating"),
    "pair": Family(),
    "single": Family(),
}
Experiment = Literal[tuple(FAMILIES)]  # type: ignore[valid-type]


class Section(BaseModel):
    """A group of parameters: unknown keys are errors (a typo fails naming the key)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, validate_default=True)


def default_of(section: type[BaseModel], key: str) -> Any:
    """The default of one parameter, from its section model (a copy), e.g. `default_of(TrainParams, "epochs")`."""
    return copy.deepcopy(section.model_fields[key].get_default(call_default_factory=True))


def _no_default(schema: dict[str, Any]) -> None:
    """A key left out means "not set here": no default in the schema (Snakemake would fill it in)."""
    schema.pop("default", None)


def optional_key(value_type: Any) -> Any:
    """A key that may be left out (then the value it would override applies) but never set to null."""
    return Annotated[value_type | SkipJsonSchema[None], Field(json_schema_extra=_no_default)]


class CustomDataset(Section):
    train: Annotated[str, Field(min_length=1)]
    devel: Annotated[str | None, Field(min_length=1, json_schema_extra=_no_default)] = None
    test: Annotated[str, Field(min_length=1)]
    format: Literal["auto", "iob", "bioc", "bioc-json", "pubtator"] = "auto"
    """the files' format; auto = each file by its content"""
    entity_types: Annotated[list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]+$")]] | None, Field(
        min_length=1, json_schema_extra={"uniqueItems": True})] = None
    """BioC/PubTator mention types to keep (after `types`); any other type is an error; null = keep every type"""
    types: dict[str, Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_./-]+$")]] = {}
    """BioC/PubTator type renames, e.g. {SpecificDisease: Disease}; null drops a type (counted)"""
    allow_shared_documents: bool = False
    """BioC/PubTator: false = a document in two splits (the same id or the same text) stops the import, naming
    both files and the documents; true = imported and counted in conversion.json (repeats within a split are
    always counted there)"""


class DataParams(Section):
    source: Annotated[str, Field(min_length=1)] = (
        "https://raw.githubusercontent.com/cambridgeltl/MTL-Bioinformatics-2016/"
        "df0df02fae6dbb87d88ffcf323b9096528f06f84/data")
    """upstream raw URL base, a mirror directory or a mirror URL (layout <source>/<NAME>-IOB/<split>.tsv)"""
    datasets: unique_list(Annotated[str, Field(pattern=NAME_PATTERN)]) = ["BC2GM", "BC5CDR-chem", "NCBI-disease"]
    """datasets of MTL-Bioinformatics-2016 by name (folder <NAME>-IOB)"""
    custom_datasets: Annotated[dict[str, CustomDataset], Field(json_schema_extra={"propertyNames": {"pattern": NAME_PATTERN}}),
                               AfterValidator(_names_match)] = {}
    """own corpora (token<TAB>tag, BioC XML/JSON or PubTator files); devel is optional (then train alone is the
    training set); BioC/PubTator are converted to words and BIO tags (README, "Own corpora in BioC or PubTator")"""
    fractions: unique_list(Annotated[int, Field(ge=1, le=100)], min_length=1) = [100, 50, 25, 10]
    """percent of train ∪ devel (nested subsamples); runs other than baseline/joint-max need 100"""
    subsample_seed: int = 13
    """seed of the one permutation all nested fractions share"""
    subsample_per_seed: bool = False
    """false = every training seed shares one nested draw (subsample_seed), as the paper's single split; true = each
    training seed draws its own nested subsamples (mtbioner.data.subsample.draw_seed)"""
    max_train_sentences: Annotated[int | None, Field(ge=1)] = None
    """cap on train ∪ devel before subsampling (CPU presets); null = all"""


class ModelParams(Section):
    encoder: Encoder = "dmis-lab/biobert-base-cased-v1.1"
    lowercase: Lowercase = "auto"
    dropout: Dropout = 0.1
    max_length: MaxLength = 256


class TrainParams(Section):
    batch_size: BatchSize = 32
    learning_rate: LearningRate = 5.0e-5
    epochs: Epochs = 50
    warmup_ratio: WarmupRatio = 0.1
    weight_decay: WeightDecay = 0.01
    grad_clip: GradClip = 1.0
    deterministic: Deterministic = False
    checkpoint_every_minutes: CheckpointMinutes = 30
    precision: Precision = "auto"
    loss_weights: LossWeights = {"ner": 0.8, "mt": 0.1, "bcls": 0.05, "mcls": 0.05}
    per_dataset: dict[str, "TrainOverrides"] = {"NCBI-disease": {"learning_rate": 1.0e-5, "epochs": 100}}
    """per-dataset overrides of the keys above (paper - NCBI-disease lr 1e-5, 100 epochs)"""
    keep_models: Literal["needed", "all"] = "needed"
    """needed = save a trained model only where something reads it (TaskEmb's single-task runs, joint-max's first
    seed at its largest fraction); all = every run"""

    #: What the grid decides for all runs at once: not a run's setting (`TrainSettings`) or not one a dataset or
    #: grid block may change (`TrainOverrides`).
    GRID_WIDE: ClassVar[frozenset[str]] = frozenset({"per_dataset", "keep_models"})
    JOB_WIDE: ClassVar[frozenset[str]] = frozenset({"deterministic", "checkpoint_every_minutes"})


def _derived(section: type[BaseModel], name: str, doc: str, drop: frozenset[str], optional: bool) -> type[BaseModel]:
    """A model with `section`'s fields but `drop`, each with its type, range and help text (and default, unless
    `optional`: then a key left out is None, "not set here"). Derived, so a field is declared once."""
    fields: dict[str, Any] = {}
    for key, info in section.model_fields.items():
        if key in drop:
            continue
        extras = [*info.metadata, *([Field(description=info.description)] if info.description else [])]
        value_type = Annotated[(info.annotation, *extras)] if extras else info.annotation
        fields[key] = ((optional_key(value_type), None) if optional else
                       (value_type, Field(default_factory=lambda key=key: default_of(section, key))))
    return create_model(name, __base__=Section, __doc__=doc, __module__=__name__, **fields)


#: The training settings a dataset (`train.per_dataset`) or a grid block (`grid.blocks[].train`) may set for its
#: runs; a key left out keeps the `train` value.
TrainOverrides = _derived(
    TrainParams, "TrainOverrides", "The training settings a dataset (`train.per_dataset`) or a grid block "
    "(`grid.blocks[].train`) may set for its runs; a key left out keeps the `train` value.",
    TrainParams.GRID_WIDE | TrainParams.JOB_WIDE, optional=True)
#: The training settings one run resolved to (`mtbioner.run.config.RunConfig.train`): `train` with its dataset's
#: and block's overrides and the grid's loss weights applied.
TrainSettings = _derived(TrainParams, "TrainSettings", "The training settings of one run (`train`, resolved).",
                         TrainParams.GRID_WIDE, optional=False)
TrainParams.model_rebuild()


class EvalParams(Section):
    max_test_sentences: MaxTestSentences = None
    per_epoch: Literal["curve_runs", "all"] = "curve_runs"
    """curve_runs = score test after every epoch only for Figure 4's runs (per dataset, the joint-max cell with
    the most epochs: joint-max at 100 % in the paper preset), every other run once after its last epoch; all =
    every run every epoch"""
    curve_datasets: list[str] | None = None
    """datasets whose learning curve (Figure 4, dvc plots) is scored every epoch; null = every dataset (a CPU
    budget may afford one)"""


class GridBlock(Section):
    name: optional_key(Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]) = None
    """makes the block's runs a variant of their experiment (run directories <experiment>@<name>), e.g. a
    training-budget axis beside the plain runs; unnamed blocks' runs are the plain runs"""
    datasets: optional_key(unique_list(str, min_length=1)) = None
    experiments: optional_key(unique_list(Experiment, min_length=1)) = None
    fractions: optional_key(unique_list(Annotated[int, Field(ge=1, le=100)], min_length=1)) = None
    seeds: optional_key(unique_list(int, min_length=1)) = None
    train: optional_key(TrainOverrides) = None


class GridParams(Section):
    seeds: unique_list(int, min_length=1) = [13, 42, 87]
    experiments: unique_list(Experiment) = list(FAMILIES)
    """experiment families of SPEC section 5 to build (see src/mtbioner/plan/grid.py)"""
    pair_main_weight: Annotated[float, Field(gt=0, lt=1)] = 0.8
    tasks: unique_list(str, min_length=1) = ["ner", "mt", "bcls", "mcls"]
    """the tasks the families combine (names of the task registry, src/mtbioner/tasks/; ner among them): joint
    and alternating runs train all of them, an ablation drops one auxiliary task (no-<task>), pair and single
    range over them; default the paper's four. A task outside the paper enters only a preset that lists it here
    and gives it a weight in train.loss_weights"""
    blocks: list[GridBlock] = []
    """optional union of sub-grids instead of the full cross product (src/mtbioner/plan/grid.py)"""


class ResourcesParams(Section):
    """work size of one training job (a profile's set-resources overrides these)"""

    train_gpus: Annotated[int, Field(ge=0)] = 1
    """0 on CPU presets"""
    train_threads: Annotated[int, Field(ge=1)] = 4
    train_mem_mb: Annotated[int, Field(ge=100)] = 32000
    train_runtime: Annotated[int, Field(ge=1)] = 720
    """minutes"""


class TagParams(Section):
    """tagging a corpus with a trained model (`snakemake all_tag`, workflow/rules/tag.smk): one job per input file
    writes a file of the same name to tagged/ in the configuration's results tree, and tagged/summary.tsv
    counts what each holds; off while model or inputs is null"""

    model: Annotated[str | None, Field(min_length=1)] = None
    """the model: a run directory, its model/ directory or an `mtbioner export` directory; or a run of this
    configuration's grid as dataset/experiment/fraction/seed (e.g. NCBI-disease/joint-max/100/13), which the DAG
    trains first if missing and which then keeps its model whatever train.keep_models says; null = no tagging"""
    inputs: Annotated[str | None, Field(min_length=1)] = None
    """a folder (its files, not its subfolders; hidden files skipped) or a glob (** recurses) of input files: raw
    text, BioC XML/JSON, PubTator or token-per-line, each recognised by content as `mtbioner predict` does; file
    names must be unique (each output keeps its input's name); null = no tagging"""
    format: Literal["iob", "jsonl", "bioc", "bioc-json", "pubtator"] = "pubtator"
    """output format, as `mtbioner predict --format` (bioc, bioc-json and pubtator need text, BioC or PubTator
    input)"""
    batch_size: BatchSize = 32
    """sentences (or windows) per forward pass (`mtbioner predict --batch-size`); raise it on a GPU"""
    precision: Annotated[Literal["auto", "fp32", "bf16"], Field(
        description="auto = fp32 on CPU, bf16 on a CUDA device that supports it; bf16 on CPU is fast only with "
        "native bf16 (AVX512-BF16/AMX) and may change a few tags")] = "auto"
    device: Annotated[str, Field(min_length=1)] = "auto"
    """auto (CUDA if available), cpu, cuda, cuda:1, ...; a job's GPU, threads, memory and time are the training
    job's (resources.train_*), so `--resources gpu=K` and the SLURM profiles treat both alike"""


ClaimLabel = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*(@[a-z0-9][a-z0-9-]*)?$")]


class Claim(Section):
    """A pre-registered claim: label a against label b on one dataset and fraction, paired by seed."""

    model_config = ConfigDict(json_schema_extra={
        # a claim without the paper's sign must state its direction (pydantic checks it in `_direction`)
        "if": {"properties": {"paper_delta": {"anyOf": [{"type": "null"}, {"const": 0}]}}},
        "then": {"required": ["direction"]}})

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.,:%@+()-]*$")]
    """unique, shown as the row's name"""
    dataset: Annotated[str, Field(min_length=1)]
    fraction: Annotated[int, Field(ge=1, le=100)]
    a: ClaimLabel
    """label of system A, e.g. joint-max"""
    b: ClaimLabel
    """label of system B, e.g. baseline@x4"""
    paper_delta: float | None
    """the paper's Δ F1(a) − F1(b) in F1 points; null = the paper gives none (then direction)"""
    direction: optional_key(Literal[1, -1]) = None
    """+1 = the claim is a > b, -1 = a < b; default: the sign of paper_delta"""
    family: bool
    """true = in the Holm family (the pre-registered confirmatory claims)"""
    planned: bool = True
    """false = this run does not train the claim's cells (a device call's part that did not fit): its row says
    "not run" and it keeps its place in the family (m counts it), so the family is fixed by the plan"""

    @model_validator(mode="after")
    def _direction(self) -> "Claim":
        if not self.paper_delta and self.direction is None:
            raise ValueError(f"claim {self.name!r}: paper_delta is {self.paper_delta}, so direction is required")
        return self


class ReportParams(Section):
    """settings of the report stage (workflow/rules/report.smk, mtbioner.plan.targets)"""

    bootstrap_samples: Annotated[int, Field(ge=100)] = 1000
    """paired-bootstrap resamples per seed pair"""
    bootstrap_seed: int = 0
    """random seed of the paired and two-level bootstraps"""
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    """significance level of the marks"""
    casestudy_wins: Annotated[int, Field(ge=0)] = 2
    """Table 5 sentences per dataset where joint-max is right"""
    casestudy_losses: Annotated[int, Field(ge=0)] = 1
    """Table 5 sentences per dataset where the baseline is right"""
    sentence_metric: Literal["macro_f1", "accuracy"] = "macro_f1"
    """bCLS/mCLS score in Figures 4-5"""
    tsne_perplexity: Annotated[float | None, Field(gt=0)] = None
    """null = min(5, (n - 1) / 3); a t-SNE is drawn only from >= 8 embeddings and 3 x perplexity < n"""
    taskemb_max_examples: Annotated[int | None, Field(ge=1)] = None
    """a prefix of the training file for the TaskEmb pass; null = the whole file"""
    verdict_samples: Annotated[int, Field(ge=100)] = 10000
    """resamples of the verdicts' two-level (seeds, then sentences) bootstrap (mtbioner.report.stats.verdicts);
    10,000 keeps the Monte-Carlo error of a p near 0.05 at ~0.002"""
    note: str | None = None
    """a sentence shown at the top of results/<name>/report.md, e.g. that a preset is a smoke test whose numbers
    say nothing about the paper (config/quick.yaml)"""
    claims: list[Claim] = []
    """the pre-registered claims judged in results/<name>/tables/verdicts.{csv,md}
    (mtbioner.report.stats.verdict_table): label a against label b (an experiment, or experiment@variant for a
    named grid block) on one dataset and training fraction, paired by seed; Δ = F1(a) − F1(b) in F1 points. [] =
    no verdicts product"""


class Params(Section):
    """mtbioner parameters (Snakemake config = DVC params)"""

    name: Annotated[str, Field(pattern=NAME_PATTERN)] = "paper"
    """the configuration's name: everything the DAG writes goes under results/<name>/ (runs, data, tables,
    figures, logs), so one preset's or own configuration's results never rewrite another's. Each preset in
    config/ sets its own; an own overlay file must set one (the Snakefile stops otherwise)"""
    # Sections default to {}: the schema then fills in each of their keys' defaults (snakemake's validate).
    data: DataParams = Field({}, validate_default=True)
    model: ModelParams = Field({}, validate_default=True)
    train: TrainParams = Field({}, validate_default=True)
    eval: EvalParams = Field({}, validate_default=True)
    grid: GridParams = Field({}, validate_default=True)
    resources: ResourcesParams = Field({}, validate_default=True)
    report: ReportParams = Field({}, validate_default=True)
    tag: TagParams = Field({}, validate_default=True)


class _SchemaWriter(GenerateJsonSchema):
    """JSON Schema as a reader (and Snakemake's default filling) wants it: no titles, `type: [T, "null"]` for
    nullable values, every `$ref` inlined (each parameter reads where it stands)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def sort(self, value: Any, parent_key: str | None = None) -> Any:
        return value  # keep the models' order: each key beside its kin, defaults as written

    def nullable_schema(self, schema: Any) -> dict[str, Any]:
        inner = self.generate_inner(schema["schema"])
        if "type" in inner and isinstance(inner["type"], str):
            return {**inner, "type": [inner["type"], "null"]}
        if "enum" in inner:
            return {**inner, "enum": [*inner["enum"], None]}
        return super().nullable_schema(schema)


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = definitions[node["$ref"].rsplit("/", 1)[-1]]
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            return _inline({**target, **siblings}, definitions)
        return {key: " ".join(value.split()) if key == "description" else _inline(value, definitions)
                for key, value in node.items() if key != "title"}
    if isinstance(node, list):
        return [_inline(value, definitions) for value in node]
    return node


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of `Params`: what the Snakefile validates the merged config against."""
    generated = Params.model_json_schema(schema_generator=_SchemaWriter)
    schema = _inline(generated, generated.pop("$defs", {}))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
