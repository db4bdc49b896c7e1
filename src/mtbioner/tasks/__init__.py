"""The task registry: every task of the multi-task model, one module each (docs/design.md, "How to add an
auxiliary task"). The model, trainer, evaluation, prediction, grid and report iterate over `REGISTRY` and look
tasks up with `get`; no other module names a task.

Light at import (the grid reads it while Snakemake parses the DAG): the task modules import the standard
library and the entity chunker only; torch and numpy are loaded by the methods that need them.

Layer: right above the foundation, below `data` (which derives a prepared example's gold labels through the
tasks), `run` and everything else. The entity chunker the derivations read (`labels.get_entities`) lives here.
"""

from __future__ import annotations

from typing import Literal

from mtbioner.errors import MtbionerError
from mtbioner.tasks import bcls, mcls, mt, ner, tcls
from mtbioner.tasks.base import IGNORE_INDEX, Task

#: Every task, in canonical order: the order of the heads in the model (so a run's heads, and their random
#: initialisation, do not depend on how its config lists them) and of columns in reports. A new task goes at
#: the end, so that the heads of the tasks before it are initialised as before.
REGISTRY: tuple[Task, ...] = (ner.TASK, mt.TASK, bcls.TASK, mcls.TASK, tcls.TASK)

TASKS: tuple[str, ...] = tuple(task.name for task in REGISTRY)
TaskName = Literal[TASKS]  # type: ignore[valid-type]  # pydantic validates run configs against the names
#: The main task: the one whose entities `mtbioner predict`, export, the IOB outputs and the report's NER
#: tables read. Every grid family trains it but the pair- and single-task runs of another task.
NER: str = ner.TASK.name

_BY_NAME = {task.name: task for task in REGISTRY}


def get(name: str) -> Task:
    """The task called `name`; MtbionerError naming the registered tasks otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise MtbionerError(f"unknown task {name!r}; registered tasks: {', '.join(TASKS)}") from None


def ordered(names) -> tuple[Task, ...]:
    """The tasks called `names`, in canonical order (unknown names fail as in `get`)."""
    wanted = set(names)
    for name in wanted:
        get(name)
    return tuple(task for task in REGISTRY if task.name in wanted)


def display_name(name: str) -> str:
    """How tables and figures name a task."""
    return get(name).display


__all__ = ["IGNORE_INDEX", "NER", "REGISTRY", "TASKS", "Task", "TaskName", "display_name", "get", "ordered"]
