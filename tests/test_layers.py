"""The package's layers (docs/design.md, "Package layers"): no module imports a layer above its own.

Read from the source with `ast` (every import, also those inside functions), so a lazy upward import fails too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mtbioner"

#: Layer of each subpackage, lowest first; the foundation modules at the package root are layer 0.
#: `tasks` (the task registry, with the entity chunker its derivations read) sits below `data`, whose prepared
#: examples carry each task's gold labels, and below `run`, whose configs name its tasks. Layers of one level may
#: import each other; the only two of one level (`data`, `run`) do not.
LAYERS = {"": 0, "tasks": 1, "data": 2, "run": 2, "model": 3, "training": 4, "plan": 5, "use": 6, "report": 7, "cli": 8}
#: What a layer may import besides the layers below it: plan reads the step formula, and nothing else, from
#: training (docs/design.md).
ALLOWED = {("plan", "mtbioner.training.batching")}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else ""


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return [name for name in found if name.startswith("mtbioner.")]


MODULES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(SRC).as_posix())
def test_no_upward_import(path: Path) -> None:
    relative = path.relative_to(SRC).with_suffix("")
    module = "mtbioner." + ".".join(relative.parts)
    own = layer_of(module) if len(relative.parts) > 1 else ""
    if module == "mtbioner.__main__":  # `python -m mtbioner`: the command line's entry point
        own = "cli"
    upward = []
    for name in imports(path):
        target = layer_of(name)
        # `from mtbioner.report import paper_values` names a subpackage module through its package
        if LAYERS[target] > LAYERS[own] and (own, name) not in ALLOWED and name.split(".")[1] != own:
            upward.append(name)
    assert upward == [], f"{module} ({own or 'foundation'}) imports upward: {upward}"


def test_every_subpackage_is_a_layer() -> None:
    packages = {path.parent.name for path in SRC.glob("*/__init__.py")}
    assert packages - {"resources"} == set(LAYERS) - {""}


#: Inside the report layer (mtbioner/report/__init__.py): statistics import neither rendering nor the model
#: computation; rendering reads the embeddings' files through statistics, never torch code; embedding is alone.
REPORT_FORBIDDEN = {"stats": ("render", "embedding"), "render": ("embedding",), "embedding": ("render", "stats")}


@pytest.mark.parametrize("path", sorted((SRC / "report").glob("*/*.py")), ids=lambda p: p.relative_to(SRC).as_posix())
def test_report_is_split_by_job(path: Path) -> None:
    job = path.parent.name
    wrong = [name for name in imports(path)
             if any(name.startswith(f"mtbioner.report.{other}") for other in REPORT_FORBIDDEN[job])]
    assert wrong == [], f"report/{job}/{path.name} imports {wrong}"


#: The longest a function in src/ may be (issue 32): a longer one does several jobs; split it by job (the trainer's
#: `_train` is start-or-resume, one epoch and finish).
MAX_FUNCTION_LINES = 80


def test_no_function_is_longer_than_the_limit() -> None:
    long = [f"{path.relative_to(SRC).as_posix()}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for path in MODULES for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []
