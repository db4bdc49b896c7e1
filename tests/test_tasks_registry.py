"""The task registry is the one place that names a task (docs/design.md, "How to add an auxiliary task").

Read from the code itself: no module outside src/mtbioner/tasks/ spells a task's name as a string literal or
imports a task's module, and the workflow and the schema do not list task names, so adding a task touches its
module, one registry line, its test and the preset that runs it — and tCLS, the task added that way, is in
no other file of the package, the workflow or the benchmarks. The paper's four tasks keep two documented
exceptions: the prepared-data format 1's frozen fields (data/examples.py) and the main task's field name there.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from mtbioner.params import load_params, load_schema
from mtbioner.plan import grid
from mtbioner.tasks import NER, REGISTRY, TASKS

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "mtbioner"
PYTHON = sorted([*SRC.rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")])
OTHER = sorted([*(ROOT / "workflow").rglob("*.smk"), ROOT / "Snakefile", ROOT / "dvc.yaml"])
#: (file, name): the literals that may stay, and why
ALLOWED = {
    # format 1 of the prepared data stores the paper's derived labels under these keys (frozen with the format)
    ("src/mtbioner/data/examples.py", "mt"), ("src/mtbioner/data/examples.py", "bcls"),
    ("src/mtbioner/data/examples.py", "mcls"), ("src/mtbioner/data/examples.py", "ner"),
    # the paper preset's values: grid.tasks and train.loss_weights default to the paper's four tasks
    *{("src/mtbioner/param_model.py", name) for name in ("ner", "mt", "bcls", "mcls")},
}


def _literals(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every string literal that is exactly a task name, and of every task-module import."""
    found = []
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline))
    for index, token in enumerate(tokens):
        if token.type == tokenize.STRING:
            try:
                value = eval(token.string, {})  # a plain literal (f-strings are never exactly a name)
            except Exception:
                continue
            if value in TASKS:
                found.append((token.start[0], value))
        elif token.type == tokenize.NAME and token.string in TASKS and index and tokens[index - 1].string == "import":
            found.append((token.start[0], token.string))
    return found


@pytest.mark.parametrize("path", PYTHON, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_module_outside_the_registry_names_a_task(path: Path) -> None:
    relative = path.relative_to(ROOT).as_posix()
    if relative.startswith("src/mtbioner/tasks/"):
        return
    named = [(line, name) for line, name in _literals(path) if (relative, name) not in ALLOWED
             and not (name == NER and relative.startswith("benchmarks/"))]  # benchmarks read NER's score
    assert named == [], f"{relative} names tasks {named}: take them from mtbioner.tasks"


def _schema_task_names(node: object, where: str = "") -> list[str]:
    """Task names in the schema outside default values and help texts (the paper preset's values are defaults)."""
    if isinstance(node, dict):
        return [hit for key, value in node.items() if key not in ("default", "description")
                for hit in [*_schema_task_names(key, where), *_schema_task_names(value, f"{where}.{key}")]]
    if isinstance(node, list):
        return [hit for value in node for hit in _schema_task_names(value, where)]
    return [f"{where}: {node}"] if node in TASKS else []


def test_the_workflow_and_the_schema_list_no_task() -> None:
    code_lines = []
    for path in OTHER:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\b(" + "|".join(t for t in TASKS if t != NER) + r")\b", code) and "description" not in code:
                code_lines.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert code_lines == []
    assert _schema_task_names(load_schema()) == []


def test_the_added_task_lives_in_its_module_and_one_registry_line() -> None:
    added = REGISTRY[-1].name  # tCLS, the task added after the paper
    files = [*PYTHON, *OTHER, *(SRC / "resources").rglob("*.yaml")]
    mentions = sorted({path.relative_to(ROOT).as_posix() for path in files
                       if re.search(rf"\b{added}\b", path.read_text(encoding="utf-8"))})
    assert mentions == ["src/mtbioner/tasks/__init__.py", f"src/mtbioner/tasks/{added}.py"]
    registry = (SRC / "tasks" / "__init__.py").read_text(encoding="utf-8")
    assert [line for line in registry.splitlines() if re.search(rf"\b{added}\b", line)] == [
        line for line in registry.splitlines() if line.startswith(("from mtbioner.tasks import", "REGISTRY"))]


def test_only_presets_that_ask_for_tcls_train_it() -> None:
    for preset in ("paper", "quick", "cpu"):
        runs = grid.expand_grid(load_params(ROOT, [ROOT / "config" / f"{preset}.yaml"]))
        assert runs and all("tcls" not in run.tasks for run in runs), preset
    runs = grid.expand_grid(load_params(ROOT, [ROOT / "config" / "tcls.yaml"]))
    by_experiment = {run.experiment: run for run in runs}
    assert by_experiment["joint-max"].tasks == ("ner", "mt", "bcls", "mcls", "tcls")
    assert by_experiment["no-tcls"].tasks == ("ner", "mt", "bcls", "mcls")  # the paper's four-task joint-max
    assert by_experiment["single-tcls"].config.train.loss_weights == {"tcls": 1.0}
    assert {run.dataset for run in runs} == {"BC5CDR"} and runs[0].root == "results/tcls"
