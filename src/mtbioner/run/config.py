"""The resolved configuration of one training run: what `mtbioner train` consumes.

`mtbioner.plan.grid` builds it from params.yaml for each cell of the experiment grid; the trainer validates it
here and writes it back as `config.json` in the run directory, so a run is reproducible from that file alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mtbioner.errors import MtbionerError
from mtbioner.param_model import (EvalParams, Fraction, GridParams, MaxTestSentences, ModelParams, Pooling, Strategy,
                                  TrainSettings, default_of)
from mtbioner.tasks import NER, TASKS, TaskName


class RunConfig(BaseModel):
    """One run: what it is (dataset, experiment, variant, fraction, seed, its files, its tasks), what the grid
    decided for it, and the typed `model` and `train` settings it resolved to (`mtbioner.param_model`'s
    `ModelParams` and `TrainSettings`: no field of theirs is declared here again).

    config.json keeps the flat form it always had (`to_json_dict`; a flat mapping is read back too), so the run
    configs written before (docs/, results trees) load, and Snakemake, which compares the JSON text to decide
    whether a run is stale, sees no change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # what is trained on what
    dataset: str
    experiment: str
    variant: str = Field("", pattern=r"^([a-z0-9][a-z0-9-]*)?$",
                         description="name of the grid block whose settings (e.g. a training budget) tell this "
                         "run apart from the same experiment elsewhere in the grid; '' = none")
    fraction: Fraction = 100
    seed: int = 13
    train_file: str = Field(description="prepared JSONL (train ∪ devel, possibly subsampled)")
    test_file: str = Field(description="prepared JSONL of the test split")
    labels_file: str = Field(description="labels.json of the dataset (fixed NER label ids)")

    # what the grid decides (mtbioner.plan.grid)
    tasks: tuple[TaskName, ...] = Field(tuple(default_of(GridParams, "tasks")),
                                        description="the heads trained (names of the task registry)")
    main_task: TaskName = Field(NER, description="the task whose score the run reports")
    pooling: Pooling = Field("max", description="the sentence heads' pooling (a property of the experiment "
                             "family: mtbioner.param_model.FAMILIES)")
    strategy: Strategy = "joint"
    save_model: bool = Field(True, description="write the trained model to model/ (off for runs whose "
                             "model nothing reads: train.keep_models)")
    eval_every_epoch: bool = Field(True, description="score the test set after every epoch (curves); False = "
                                   "once, after the last epoch (same final metrics, less work)")
    max_test_sentences: MaxTestSentences = default_of(EvalParams, "max_test_sentences")

    # the parameters' settings, resolved for this run (its dataset's and block's overrides, its loss weights)
    model: ModelParams = Field(default_factory=ModelParams)
    train: TrainSettings = Field(default_factory=TrainSettings)

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, data: Any) -> Any:
        """A flat mapping (config.json, `--config-json`, `RunConfig(epochs=3, ...)`): its `model` and `train`
        settings gathered into their sections."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section, model in (("model", ModelParams), ("train", TrainSettings)):
            flat = {key: data.pop(key) for key in list(data) if key in model.model_fields and key not in cls.model_fields}
            if flat:
                given = data.get(section)
                data[section] = {**(given.model_dump() if isinstance(given, BaseModel) else given or {}), **flat}
        return data

    @model_validator(mode="after")
    def _check_tasks(self) -> "RunConfig":
        if not self.tasks:
            raise ValueError("tasks must not be empty")
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks repeat a name: {list(self.tasks)}")
        if self.main_task not in self.tasks:
            raise ValueError(f"main_task {self.main_task!r} is not among tasks {list(self.tasks)}")
        unknown = sorted(set(self.train.loss_weights) - set(TASKS))
        if unknown:
            raise ValueError(f"loss_weights names tasks the registry does not have: {unknown} (known: {list(TASKS)})")
        missing = [task for task in self.tasks if task not in self.train.loss_weights]
        if missing:
            raise ValueError(f"loss_weights has no weight for {missing}")
        return self

    @classmethod
    def validated(cls, data: dict, origin: str = "run config") -> "RunConfig":
        """`data` as a RunConfig, or one MtbionerError naming `origin` and every invalid field."""
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
            raise MtbionerError(f"{origin}: {details}") from None

    @classmethod
    def from_json_text(cls, text: str, origin: str = "run config") -> "RunConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise MtbionerError(f"{origin}: not valid JSON ({error})") from None
        return cls.validated(data, origin)

    @classmethod
    def from_file(cls, path: str | Path) -> "RunConfig":
        return cls.from_json_text(Path(path).read_text(encoding="utf-8"), origin=str(path))

    def to_json_dict(self) -> dict:
        """The flat form of config.json, in its order since issue 22 (`_flat_order`)."""
        data = json.loads(self.model_dump_json())
        flat = {**data.pop("model"), **data.pop("train"), **data}
        return {key: flat[key] for key in _flat_order()}

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> "RunConfig":
        """pydantic's copy, refusing a key that is not a field of its own (a `model`/`train` setting changed
        there would be silently ignored: `with_settings` changes those)."""
        unknown = sorted(set(update or {}) - set(type(self).model_fields))
        if unknown:
            raise TypeError(f"RunConfig.model_copy: {unknown} are not its fields; change settings with with_settings")
        return super().model_copy(update=update, deep=deep)

    def with_settings(self, **changes: Any) -> "RunConfig":
        """A copy with `model`/`train` settings changed by name (validated), e.g. the casing a run resolved."""
        return RunConfig.validated({**self.to_json_dict(), **changes}, origin="run config")


#: The head of config.json's settings, in the order RunConfig's flat fields had (issue 22): kept so that a run
#: config written before reads as the same text (Snakemake reruns a run whose parameters' text changed).
_FLAT_HEAD = ("encoder", "tasks", "main_task", "pooling", "dropout", "max_length", "lowercase", "strategy",
              "loss_weights")


def _flat_order() -> list[str]:
    """config.json's key order: the identity (dataset … labels_file), `_FLAT_HEAD`, the other `model` and
    `train` settings in their models' order (a new parameter lands there), then how the run is scored and kept."""
    own = [key for key in RunConfig.model_fields if key not in ("model", "train")]
    identity = own[:own.index("tasks")]
    rest = [key for key in [*ModelParams.model_fields, *TrainSettings.model_fields, *own]
            if key not in identity and key not in _FLAT_HEAD]
    return [*identity, *_FLAT_HEAD, *rest]
