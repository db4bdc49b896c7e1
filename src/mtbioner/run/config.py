"""The resolved configuration of one training run: what `mtbioner train` consumes.

`mtbioner.plan.grid` builds it from params.yaml for each cell of the experiment grid; the trainer validates it
here and writes it back as `config.json` in the run directory, so a run is reproducible from that file alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mtbioner.errors import MtbionerError
from mtbioner.params import param_choices, param_default
from mtbioner.tasks import NER, TaskName


class RunConfig(BaseModel):
    """One run's settings. Fields that are parameters of params.yaml take their defaults from the schema
    (`mtbioner.params.param_default`), the one home of every default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # what is trained on what
    dataset: str
    experiment: str
    variant: str = Field("", pattern=r"^([a-z0-9][a-z0-9-]*)?$",
                         description="name of the grid block whose settings (e.g. a training budget) tell this "
                         "run apart from the same experiment elsewhere in the grid; '' = none")
    fraction: int = Field(100, ge=1, le=100, description="percentage of train ∪ devel used")
    seed: int = 13
    train_file: str = Field(description="prepared JSONL (train ∪ devel, possibly subsampled)")
    test_file: str = Field(description="prepared JSONL of the test split")
    labels_file: str = Field(description="labels.json of the dataset (fixed NER label ids)")

    # model
    encoder: str = Field(default_factory=lambda: param_default("model", "encoder"), description="'tiny', 'minilm', HF id or path")
    tasks: tuple[TaskName, ...] = Field(default_factory=lambda: tuple(param_default("grid", "tasks")),
                                        description="the heads trained (names of the task registry); the "
                                        "schema's grid.tasks by default")
    main_task: TaskName = Field(NER, description="the task whose score the run reports")
    pooling: Literal["cls", "mean", "max"] = "max"
    dropout: float = Field(default_factory=lambda: param_default("model", "dropout"), ge=0.0, lt=1.0)
    max_length: int = Field(default_factory=lambda: param_default("model", "max_length"), ge=8, description="sub-tokens per window incl. special tokens")
    lowercase: Literal["auto"] | bool = Field(
        default_factory=lambda: param_default("model", "lowercase"), description="tokenizer lowercasing; auto: keep case unless the encoder is uncased (see "
        "mtbioner.model.encoders.decide_lowercase). The run's config.json records the resolved true/false")

    # optimisation
    strategy: Literal["joint", "alternating"] = "joint"
    loss_weights: dict[TaskName, float] = Field(default_factory=lambda: param_default("train", "loss_weights"),
                                                 description="the schema's train.loss_weights by default")
    batch_size: int = Field(default_factory=lambda: param_default("train", "batch_size"), ge=1)
    learning_rate: float = Field(default_factory=lambda: param_default("train", "learning_rate"), gt=0)
    epochs: int = Field(default_factory=lambda: param_default("train", "epochs"), ge=1)
    warmup_ratio: float = Field(default_factory=lambda: param_default("train", "warmup_ratio"), ge=0, lt=1)
    weight_decay: float = Field(default_factory=lambda: param_default("train", "weight_decay"), ge=0)
    grad_clip: float = Field(default_factory=lambda: param_default("train", "grad_clip"), gt=0)
    deterministic: bool = Field(default_factory=lambda: param_default("train", "deterministic"), description="torch.use_deterministic_algorithms + a fixed cuBLAS workspace: "
                                "bit-identical GPU reruns at some speed cost")
    checkpoint_every_minutes: float | None = Field(default_factory=lambda: param_default("train", "checkpoint_every_minutes"), gt=0, description="a resumable checkpoint every this many minutes of training, and "
                                                   "one when SIGTERM/SIGUSR1 asks the job to stop; None = only then")
    precision: Literal[param_choices("train", "precision")] = Field(default_factory=lambda: param_default("train", "precision"), description="auto: bf16 autocast on CUDA if supported, else fp32")

    save_model: bool = Field(True, description="write the trained model to model/ (off for runs whose "
                             "model nothing reads: train.keep_models)")

    # evaluation / resources
    eval_every_epoch: bool = Field(True, description="score the test set after every epoch (curves); False = "
                                   "once, after the last epoch (same final metrics, less work)")
    max_test_sentences: int | None = Field(default_factory=lambda: param_default("eval", "max_test_sentences"), ge=1, description="evaluate on this prefix of test (CPU presets)")

    @model_validator(mode="after")
    def _check_tasks(self) -> "RunConfig":
        if not self.tasks:
            raise ValueError("tasks must not be empty")
        if len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks repeat a name: {list(self.tasks)}")
        if self.main_task not in self.tasks:
            raise ValueError(f"main_task {self.main_task!r} is not among tasks {list(self.tasks)}")
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
