"""One source of truth: each default and each fact is written once in src/mtbioner.

The parameter defaults live in the typed parameter models (src/mtbioner/param_model.py), from which the schema,
config/paper.yaml and params.yaml are generated (tests/test_params_schema.py keeps those fresh); Python reads
them through `mtbioner.params.param_default` or `param_model.default_of`. These tests fail when a default is
copied into other code as a literal.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mtbioner.params import param_default

SRC = Path(__file__).resolve().parents[1] / "src" / "mtbioner"
SOURCES = {path.relative_to(SRC).as_posix(): path.read_text(encoding="utf-8") for path in sorted(SRC.rglob("*.py"))}


def lines_matching(pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return [f"{name}:{number}: {line.strip()}" for name, text in SOURCES.items()
            for number, line in enumerate(text.splitlines(), start=1) if regex.search(line)]


def literal(value: object) -> str:
    """A regex for `value` written as a Python literal (number not followed by more digits; quoted string)."""
    if isinstance(value, str):
        return f"[\"']{re.escape(value)}[\"']"
    return rf"{re.escape(repr(value))}(?![\w.])"


HOME = "param_model.py"


def outside_home(hits: list[str]) -> list[str]:
    return [hit for hit in hits if not hit.startswith(f"{HOME}:")]


def test_upstream_url_and_commit_are_written_only_in_the_parameter_model() -> None:
    source = param_default("data", "source")
    commit = re.search(r"[0-9a-f]{40}", source).group()
    assert len(lines_matching(re.escape("cambridgeltl/MTL-Bioinformatics-2016"))) == 1
    assert outside_home(lines_matching(re.escape("cambridgeltl/MTL-Bioinformatics-2016"))) == []
    assert outside_home(lines_matching(commit)) == []


def test_loss_weights_are_written_only_in_the_parameter_model() -> None:
    weights = param_default("train", "loss_weights")
    assert set(weights) == {"ner", "mt", "bcls", "mcls"}
    for task, weight in weights.items():
        pattern = rf"[\"']?\b{task}\b[\"']?\s*[:=]\s*{literal(weight)}"
        assert len(lines_matching(pattern)) == 1 and outside_home(lines_matching(pattern)) == [], task
    assert lines_matching(r"DEFAULT_LOSS_WEIGHTS") == []


#: Other names a `report:` setting goes by in function signatures and CLI options (bootstrap_seed has none:
#: a bare `seed` is also the t-SNE random state).
REPORT_ALIASES = {"bootstrap_samples": ["samples"], "casestudy_wins": ["wins"], "casestudy_losses": ["losses"]}


@pytest.mark.parametrize("key", sorted(param_default("report")))
def test_report_defaults_are_written_only_in_the_parameter_model(key: str) -> None:
    value = param_default("report", key)
    if value is None:  # "not set": nothing to copy
        return
    for name in [key, *REPORT_ALIASES.get(key, [])]:
        assert outside_home(lines_matching(rf"\b{name}\b.*(?<![=!<>])[=:]\s*{literal(value)}")) == [], name


def test_report_defaults_have_one_definition() -> None:
    (definition,) = lines_matching(r"^\s*REPORT_DEFAULTS\b[^=]*=")
    assert definition.startswith("report/defaults.py:") and 'param_default("report")' in definition


def test_one_tsv_reader() -> None:
    """Token-per-line TSV is split into columns only in mtbioner.data.iob (predict's lenient input and a run's
    test_predictions.tsv included: tests/test_iob.py checks those modes). PubTator's annotation lines are
    tab-separated too, and split only where PubTator is read (data/standoff.py)."""
    assert {hit.split(":")[0] for hit in lines_matching(r"""\.split\(\s*["']\\t["']""")} == {
        "data/iob.py", "data/standoff.py"}


def test_one_jsonl_reader() -> None:
    """JSON lines are parsed one per line only by atomicio.iter_jsonl (train.py's unused load_history is
    left to the train.py split)."""
    hits = {hit.split(":")[0] for hit in lines_matching(r"json\.loads\((line|row)\b")}
    assert hits - {"training/trainer.py"} == {"atomicio.py"}


def test_one_ignore_index() -> None:
    """The label the loss ignores is defined once (mtbioner.tasks.base, beside the losses that skip it) and
    written nowhere else."""
    (definition,) = lines_matching(r"-100\b")
    assert definition.startswith("tasks/base.py:") and definition.endswith(": IGNORE_INDEX = -100")


def test_the_jsonl_reader_names_file_and_line(tmp_path: Path) -> None:
    from mtbioner.atomicio import read_jsonl, write_jsonl
    from mtbioner.errors import MtbionerError

    path = tmp_path / "rows.jsonl"
    write_jsonl(path, [{"a": 1}, {"b": "é"}])
    assert read_jsonl(path) == [{"a": 1}, {"b": "é"}]
    path.write_text('{"a": 1}\n\n{"a": \n', encoding="utf-8")
    with pytest.raises(MtbionerError, match=r"rows\.jsonl:3: not valid JSON"):
        read_jsonl(path)


def test_the_false_positive_sentence_rate_is_defined_once() -> None:
    """mtbioner.training.evaluate computes it for metrics.json; nothing else does (the report reads it there)."""
    (definition,) = lines_matching(r"def false_positive_sentence_rate\b")
    assert definition.startswith("training/evaluate.py:")


def test_run_config_defaults_come_from_the_parameter_model() -> None:
    """A RunConfig's `model` and `train` settings are the parameter models themselves (`ModelParams`, and
    `TrainSettings` derived from `TrainParams`), so their defaults are the parameters' defaults; the run's own
    fields that are parameters (eval.max_test_sentences) take theirs from the model too."""
    from mtbioner.param_model import ModelParams, TrainSettings
    from mtbioner.params import param_default
    from mtbioner.run.config import RunConfig

    config = RunConfig.model_validate({"dataset": "d", "experiment": "e", "train_file": "t", "test_file": "s",
                                       "labels_file": "l"})
    for section, settings, model in (("model", config.model, ModelParams), ("train", config.train, TrainSettings)):
        assert type(settings) is model
        for key in model.model_fields:
            assert getattr(settings, key) == param_default(section, key), f"{section}.{key}"
    assert config.max_test_sentences == param_default("eval", "max_test_sentences")


#: Where the issue found a train setting declared by hand five times (issue 32).
DECLARING = ["src/mtbioner/param_model.py", "src/mtbioner/run/config.py", "src/mtbioner/training/step.py",
             "benchmarks/gpu_check.py"]


def test_a_train_setting_is_declared_in_one_class() -> None:
    """`TrainParams` declares every train setting; the per-dataset/per-block overrides and a run's settings are
    derived from it (`TrainOverrides`, `TrainSettings`), and no class in the files that used to copy the fields
    (RunConfig, the step's settings, the GPU check's StepSettings) declares one again."""
    import ast

    from mtbioner.param_model import TrainOverrides, TrainParams, TrainSettings

    keys = set(TrainParams.model_fields)
    assert set(TrainOverrides.model_fields) < keys and set(TrainSettings.model_fields) < keys
    assert all(TrainOverrides.model_fields[key].default is None for key in TrainOverrides.model_fields)
    declared = []
    for name in DECLARING:
        tree = ast.parse((SRC.parents[1] / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                declared += [(name, node.name, statement.target.id) for statement in node.body
                             if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                             and statement.target.id in keys]
    # TagParams' batch_size and precision are the tagging jobs' own (`mtbioner predict --batch-size/--precision`:
    # inference, no fp16), not train settings that happen to share a name: they are the one exception, by name.
    own = {("src/mtbioner/param_model.py", "TagParams", "batch_size"), ("src/mtbioner/param_model.py", "TagParams",
                                                                       "precision")}
    assert {(name, cls) for name, cls, key in declared if (name, cls, key) not in own} == {
        ("src/mtbioner/param_model.py", "TrainParams")}, declared


def test_a_parameter_is_named_where_the_design_says() -> None:
    """docs/design.md's 'How to add a parameter', checked on one the paper has (train.grad_clip): besides the
    generated files it is named by its one model field and the code that uses it (the step) — the overrides,
    the run config, the grid, the trainer, the rules, the CLI and dvc.yaml pass it on without naming it."""
    root = SRC.parents[1]
    candidates = [*SRC.rglob("*.py"), *SRC.rglob("*.yaml"), *(root / "workflow").rglob("*.smk"),
                  *(root / "config").rglob("*"), root / "Snakefile", root / "dvc.yaml", root / "params.yaml"]
    naming = {path.relative_to(root).as_posix() for path in candidates
              if path.is_file() and "grad_clip" in path.read_text(encoding="utf-8")}
    generated = {"src/mtbioner/resources/params.schema.yaml", "config/paper.yaml", "config/README.md", "params.yaml"}
    recipe = {"src/mtbioner/param_model.py"}
    users = {"src/mtbioner/training/step.py"}
    assert naming == generated | recipe | users
