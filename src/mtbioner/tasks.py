"""The four tasks of the multi-task model and their label sets (SPEC section 2)."""

from __future__ import annotations

from typing import Literal

TaskName = Literal["ner", "mt", "bcls", "mcls"]

#: Canonical order; also the order of the heads in the model and of columns in reports.
TASKS: tuple[TaskName, ...] = ("ner", "mt", "bcls", "mcls")
TOKEN_TASKS: tuple[TaskName, ...] = ("ner", "mt")
SENTENCE_TASKS: tuple[TaskName, ...] = ("bcls", "mcls")

#: mtCLS: outside / one-word entity / first word of a multi-word entity / other words of it.
MT_LABELS: tuple[str, ...] = ("O", "B-Single", "B-Multi", "I-Multi")
BCLS_CLASSES: tuple[int, ...] = (0, 1)
#: mCLS: number of entities capped at 3 (class 3 means "3 or more").
MCLS_CLASSES: tuple[int, ...] = (0, 1, 2, 3)

#: Names used in tables and figures (the paper's).
DISPLAY_NAMES: dict[str, str] = {"ner": "NER", "mt": "mtCLS", "bcls": "bCLS", "mcls": "mCLS"}
