"""The resolved configuration of one training run: what `mtbioner train` consumes.

`mtbioner.plan.grid` builds it from params.yaml for each cell of the experiment grid; the trainer validates it
here and writes it back as `config.json` in the run directory, so a run is reproducible from that file alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mtbioner.errors import MtbionerError
from mtbioner.param_model import (BatchSize, CheckpointMinutes, Deterministic, Dropout, Encoder, Epochs, Fraction,
                                  GradClip, GridParams, LearningRate, Lowercase, LossWeights, MaxLength,
                                  MaxTestSentences, ModelParams, Pooling, Precision, Strategy, TrainParams,
                                  WarmupRatio, WeightDecay, EvalParams, default_of)
from mtbioner.tasks import NER, TASKS, TaskName


class RunConfig(BaseModel):
    """One run's settings. Fields that are parameters of params.yaml share their type, range and help text
    with them (`mtbioner.param_model`, their one home) and take their defaults from there."""

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

    # model
    encoder: Encoder = default_of(ModelParams, "encoder")
    tasks: tuple[TaskName, ...] = Field(tuple(default_of(GridParams, "tasks")),
                                        description="the heads trained (names of the task registry)")
    main_task: TaskName = Field(NER, description="the task whose score the run reports")
    pooling: Pooling = Field("max", description="the sentence heads' pooling (a property of the experiment "
                             "family: mtbioner.param_model.FAMILIES)")
    dropout: Dropout = default_of(ModelParams, "dropout")
    max_length: MaxLength = default_of(ModelParams, "max_length")
    lowercase: Lowercase = default_of(ModelParams, "lowercase")

    # optimisation
    strategy: Strategy = "joint"
    loss_weights: LossWeights = default_of(TrainParams, "loss_weights")
    batch_size: BatchSize = default_of(TrainParams, "batch_size")
    learning_rate: LearningRate = default_of(TrainParams, "learning_rate")
    epochs: Epochs = default_of(TrainParams, "epochs")
    warmup_ratio: WarmupRatio = default_of(TrainParams, "warmup_ratio")
    weight_decay: WeightDecay = default_of(TrainParams, "weight_decay")
    grad_clip: GradClip = default_of(TrainParams, "grad_clip")
    deterministic: Deterministic = default_of(TrainParams, "deterministic")
    checkpoint_every_minutes: CheckpointMinutes = default_of(TrainParams, "checkpoint_every_minutes")
    precision: Precision = default_of(TrainParams, "precision")

    save_model: bool = Field(True, description="write the trained model to model/ (off for runs whose "
                             "model nothing reads: train.keep_models)")

    # evaluation / resources
    eval_every_epoch: bool = Field(True, description="score the test set after every epoch (curves); False = "
                                   "once, after the last epoch (same final metrics, less work)")
    max_test_sentences: MaxTestSentences = default_of(EvalParams, "max_test_sentences")

    @model_validator(mode="after")
    def _check_tasks(self) -> "RunConfig":
        if not self.tasks:
            raise ValueError("tasks must not be empty")
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks repeat a name: {list(self.tasks)}")
        if self.main_task not in self.tasks:
            raise ValueError(f"main_task {self.main_task!r} is not among tasks {list(self.tasks)}")
        unknown = sorted(set(self.loss_weights) - set(TASKS))
        if unknown:
            raise ValueError(f"loss_weights names tasks the registry does not have: {unknown} (known: {list(TASKS)})")
        missing = [task for task in self.tasks if task not in self.loss_weights]
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
        return json.loads(self.model_dump_json())
