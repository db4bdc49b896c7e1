"""The pre-registered claims (`report.claims` of params.yaml) as typed comparisons, and the runs each names.

A claim names two cells of the grid by label (`joint-max`, `baseline@x4`: experiment[@variant]) on one dataset
and training fraction, and what the paper says of A − B in F1 points (`paper_delta`, or only a `direction`
where the paper gives no number). Its runs are paired by seed (the seeds both cells ran). This is planning:
the workflow derives the verdict rule's inputs from it (`mtbioner.plan.targets.verdict_metrics`), and the report
judges the same claims (`mtbioner.report.stats.verdict_table`). Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from mtbioner.errors import MtbionerError
from mtbioner.run.directory import RunIdentity, parse_label

R = TypeVar("R", bound=RunIdentity)
T = TypeVar("T")


@dataclass(frozen=True)
class Claim:
    """One pre-registered comparison: Δ = F1(a) − F1(b) on `dataset` at `fraction` %, paired by seed."""

    name: str
    dataset: str
    fraction: int
    a: str  # label: experiment or experiment@variant
    b: str
    paper_delta: float | None  # the paper's Δ in F1 points; None = the paper gives a direction only
    direction: int  # +1: the claim is a > b; -1: a < b
    family: bool  # in the Holm family
    planned: bool = True  # False: its cells are not trained in this run; reported "not run", counted in the family

    def to_row(self) -> dict[str, Any]:
        return {"claim": self.name, "dataset": self.dataset, "fraction": self.fraction, "a": self.a, "b": self.b,
                "paper_delta": self.paper_delta, "direction": self.direction, "family": self.family}


def parse_claims(entries: Iterable[dict[str, Any]] | None, origin: str = "report.claims") -> list[Claim]:
    """`report.claims` (already schema-checked by the workflow) as Claims, with what a schema cannot say
    checked here: unique names, and a `direction` that agrees with the sign of `paper_delta` (or stands in for
    it where the paper gives none or 0)."""
    parsed: list[Claim] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries or []):
        where = f"{origin}[{index}]"
        try:
            name, dataset, fraction = str(entry["name"]), str(entry["dataset"]), int(entry["fraction"])
            a, b, family = str(entry["a"]), str(entry["b"]), bool(entry["family"])
            paper = entry["paper_delta"]
        except (KeyError, TypeError, ValueError) as error:
            raise MtbionerError(f"{where}: needs name, dataset, fraction, a, b, paper_delta and family ({error})") from None
        where = f"{where} ({name})"
        if name in seen:
            raise MtbionerError(f"{where}: a second claim of that name (names must be unique)")
        seen.add(name)
        if a == b:
            raise MtbionerError(f"{where}: a and b are both {a!r}")
        paper_delta = None if paper is None else float(paper)
        direction = entry.get("direction")
        if direction is None:
            if paper_delta is None or paper_delta == 0 or not math.isfinite(paper_delta):
                raise MtbionerError(f"{where}: paper_delta is {paper} and gives no direction: set direction: 1 or -1")
            direction = 1 if paper_delta > 0 else -1
        if direction not in (1, -1):
            raise MtbionerError(f"{where}: direction must be 1 or -1, got {direction!r}")
        if paper_delta is not None and paper_delta != 0 and (paper_delta > 0) != (direction > 0):
            raise MtbionerError(f"{where}: direction {direction} contradicts the sign of paper_delta {paper_delta}")
        planned = entry.get("planned", True)
        if not isinstance(planned, bool):
            raise MtbionerError(f"{where}: planned must be true or false, got {planned!r}")
        parsed.append(Claim(name, dataset, fraction, a, b, paper_delta, int(direction), family, planned))
    return parsed


def _cell(runs: Iterable[R], dataset: str, fraction: int, label: str) -> dict[int, R]:
    experiment, variant = parse_label(label)
    return {run.seed: run for run in runs if run.dataset == dataset and run.fraction == fraction
            and run.experiment == experiment and run.variant == variant}


def pair_by_seed(claim: Claim, a: dict[int, T], b: dict[int, T], what: str,
                 hint: str = "") -> tuple[list[int], list[T], list[T]]:
    """(seeds, A's items, B's items) of a claim's two cells ({seed: item}), paired by the seeds both have
    (ascending); MtbionerError naming the claim when either cell is empty ("no <what> of ...") or they share no
    seed. Runs (`claim_runs`) and published per-sentence counts (`mtbioner.report.stats.verdict_table.claim_counts`) pair
    the same way."""
    for label, cell in ((claim.a, a), (claim.b, b)):
        if not cell:
            raise MtbionerError(f"claim {claim.name!r}: no {what} of {label} on {claim.dataset} at {claim.fraction} %"
                                + hint)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        raise MtbionerError(f"claim {claim.name!r}: {claim.a} (seeds {sorted(a)}) and {claim.b} (seeds {sorted(b)}) "
                            "share no seed to pair by")
    return seeds, [a[s] for s in seeds], [b[s] for s in seeds]


def claim_runs(claim: Claim, runs: Iterable[R]) -> tuple[list[R], list[R]]:
    """The runs of A and of B paired by seed (the seeds both ran, ascending); MtbionerError naming the claim
    when either cell has no run or they share no seed."""
    runs = list(runs)
    a, b = (_cell(runs, claim.dataset, claim.fraction, label) for label in (claim.a, claim.b))
    _, a_runs, b_runs = pair_by_seed(claim, a, b, "run", " (check report.claims against the grid)")
    return a_runs, b_runs
