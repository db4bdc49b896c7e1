"""Table 5: test sentences on which the baseline and joint-max disagree, mined automatically.

For each dataset, the first seed both models share, full training data (plain runs); the table says which
seed and fraction it shows and names the encoder from the runs' config (the baseline is "BioBERT" only when
the encoder is). A sentence qualifies when the two predicted entity sets differ. Categories, in display order:
  "joint-max right"  — joint-max finds exactly the gold entities, the baseline does not (the paper's examples);
  "baseline right"   — the reverse (shown too: the paper only shows wins);
  "both wrong"       — they differ and neither is exact (counted, not shown).
Within a category, sentences rank by how many entities the loser gets wrong (most instructive first), then by
length (short sentences read better), then by position; a case whose disputed mentions (the gold entities one
model finds and the other does not, or else the disputed predictions) were all shown already is skipped, so
the same mention (e.g. one phrase repeated across test sentences) is not shown twice. Predicted entities are coloured green when they match
a gold entity exactly (type and boundaries) and red otherwise; gold entities the model misses are underlined,
also where a wrong predicted entity overlaps them (gold words 2-4, predicted 3-4: both are shown, nested).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from mtbioner.atomicio import write_text
from mtbioner.errors import MtbionerError
from mtbioner.report.defaults import CASESTUDY_LOSSES, CASESTUDY_WINS
from mtbioner.report.stats.predictions import Entity, PredictedSentence, check_same_test_set, read_predictions
from mtbioner.run.directory import FinishedRun

CATEGORIES = ("joint-max right", "baseline right", "both wrong")
def display_labels(encoder: str) -> dict[str, str]:
    """Markdown/HTML model names, naming the encoder both models fine-tune (from the runs' config)."""
    return {"baseline": f"Baseline (single-task NER, {encoder})", "joint-max": f"Ours (joint, MAX, {encoder})"}


def latex_labels(encoder: str) -> dict[str, str]:
    return {"baseline": f"Baseline ({latex_escape(encoder)})", "joint-max": f"Ours (MAX, {latex_escape(encoder)})"}

#: The HTML page and the LaTeX table around the rendered sentences: mtbioner/resources/table5.{html,tex}.j2.
_LAYOUT = {"loader": jinja2.PackageLoader("mtbioner", "resources"), "trim_blocks": True, "lstrip_blocks": True,
           "keep_trailing_newline": True, "undefined": jinja2.StrictUndefined}
_HTML = jinja2.Environment(autoescape=True, **_LAYOUT)
# TeX is full of braces, so the LaTeX template marks Jinja with \VAR{...} and \BLOCK{...}; `|latex` escapes
_LATEX = jinja2.Environment(autoescape=False, block_start_string="\\BLOCK{", block_end_string="}",
                            variable_start_string="\\VAR{", variable_end_string="}", comment_start_string="\\#{",
                            comment_end_string="}", **_LAYOUT)


@dataclass(frozen=True)
class Case:
    dataset: str
    index: int  # 0-based position in the test set
    category: str
    tokens: tuple[str, ...]
    gold: frozenset[Entity]
    baseline: frozenset[Entity]
    ours: frozenset[Entity]

    @property
    def loser_errors(self) -> int:
        loser = self.baseline if self.category == "joint-max right" else self.ours
        return len(loser ^ self.gold)


def mine_cases(dataset: str, baseline: list[PredictedSentence], ours: list[PredictedSentence]) -> list[Case]:
    """All disagreements, ranked (see module docstring)."""
    cases = []
    for index, (b, o) in enumerate(zip(baseline, ours)):
        gold, b_entities, o_entities = b.gold_entities, b.pred_entities, o.pred_entities
        if b_entities == o_entities:
            continue
        if o_entities == gold:
            category = "joint-max right"
        elif b_entities == gold:
            category = "baseline right"
        else:
            category = "both wrong"
        cases.append(Case(dataset, index, category, b.tokens, frozenset(gold), frozenset(b_entities),
                          frozenset(o_entities)))
    cases.sort(key=lambda c: (CATEGORIES.index(c.category), -c.loser_errors, len(c.tokens), c.index))
    return cases


def disputed_mentions(case: Case) -> frozenset[tuple[str, str]]:
    """(type, words) of the gold entities one model finds and the other does not; where there are none (the
    models differ only in wrong predictions), those of the predictions they disagree on."""
    def text(entity: Entity) -> tuple[str, str]:
        return entity[0], " ".join(case.tokens[entity[1]: entity[2] + 1]).lower()

    gold = {text(e) for e in case.gold if (e in case.baseline) != (e in case.ours)}
    return frozenset(gold or {text(e) for e in case.baseline ^ case.ours})


def distinct_cases(cases: list[Case], limit: int) -> list[Case]:
    """The first `limit` cases, skipping any whose disputed mentions were all shown already."""
    chosen, shown = [], set()
    for case in cases:
        if len(chosen) == limit:
            break
        mentions = disputed_mentions(case)
        if mentions and mentions <= shown:
            continue
        chosen.append(case)
        shown |= mentions
    return chosen


def pick_pair(runs: list[FinishedRun], dataset: str) -> tuple[FinishedRun, FinishedRun] | None:
    """Baseline and joint-max runs of `dataset` (full data, plain runs) with the lowest seed they share."""
    base = {r.seed: r for r in runs if r.dataset == dataset and r.experiment == "baseline" and r.fraction == 100
            and not r.variant}
    ours = {r.seed: r for r in runs if r.dataset == dataset and r.experiment == "joint-max" and r.fraction == 100
            and not r.variant}
    shared = sorted(set(base) & set(ours))
    return (base[shared[0]], ours[shared[0]]) if shared else None


# ------------------------------------------------------------------------------------------------ rendering
@dataclass(frozen=True)
class _Mark:
    start: int
    end: int  # inclusive, word positions
    kind: str  # "correct" / "wrong" (predicted entities) or "missed" (gold entities not predicted)


_Node = tuple[_Mark, list]  # a mark and the marks nested inside it


def _marks(predicted: frozenset[Entity], gold: frozenset[Entity]) -> list[_Node]:
    """Every predicted entity and every missed gold entity as properly nested marks (a forest).

    Predicted entities never overlap each other, nor do gold ones, but a wrong predicted entity may overlap a
    missed gold one (gold words 2-4, predicted 3-4). Both are shown: a predicted entity stays one piece; the
    underline of a missed gold entity nests around the predicted entities inside it, sits inside a predicted
    entity that contains it, and is cut where a predicted entity crosses its boundary, so no markup crosses.
    """
    entities = [_Mark(s, e, "correct" if (t, s, e) in gold else "wrong") for t, s, e in predicted]
    missed = []
    for t, s, e in gold:
        if (t, s, e) in predicted:
            continue
        cuts = set()
        for p in entities:
            overlaps = p.start <= e and s <= p.end
            nested = (s <= p.start and p.end <= e) or (p.start <= s and e <= p.end)
            if overlaps and not nested:
                cuts.add(p.start if p.start > s else p.end + 1)
        bounds = [s, *sorted(cuts), e + 1]
        missed += [_Mark(a, b - 1, "missed") for a, b in zip(bounds, bounds[1:])]
    # outer marks first: by start, longer first, and a missed underline around a predicted entity of the
    # same words (a type error)
    forest: list[_Node] = []
    stack: list[_Node] = []
    for mark in sorted(entities + missed, key=lambda m: (m.start, -m.end, m.kind != "missed")):
        while stack and stack[-1][0].end < mark.start:
            stack.pop()
        node: _Node = (mark, [])
        (stack[-1][1] if stack else forest).append(node)
        stack.append(node)
    return forest


def _render(tokens: tuple[str, ...], predicted: frozenset[Entity], gold: frozenset[Entity],
            escape: Callable[[str], str], wrap: Callable[[str, str], str], underline_words: bool = False) -> str:
    """The sentence with its marks, each wrapped by `wrap(kind, inner)`. underline_words=True (LaTeX) never
    wraps markup inside a "missed" mark: it wraps the plain words under it instead (ulem's \\uline must not hold
    \\textcolor and friends), so the underline still covers exactly the missed gold entity's words."""

    def words(first: int, last: int, underlined: bool) -> str:
        text = " ".join(escape(token) for token in tokens[first : last + 1])
        return wrap("missed", text) if underlined else text

    def inside(nodes: list[_Node], first: int, last: int, underlined: bool) -> str:
        parts, i = [], first
        for mark, children in sorted(nodes, key=lambda node: node[0].start):
            if i < mark.start:
                parts.append(words(i, mark.start - 1, underlined))
            if mark.kind == "missed" and underline_words:
                parts.append(inside(children, mark.start, mark.end, True))
            else:
                parts.append(wrap(mark.kind, inside(children, mark.start, mark.end, underlined and underline_words)))
            i = mark.end + 1
        if i <= last:
            parts.append(words(i, last, underlined))
        return " ".join(parts)

    return inside(_marks(predicted, gold), 0, len(tokens) - 1, False)


def _html_sentence(case: Case, predicted: frozenset[Entity]) -> str:
    style = {"correct": "color:#1a7f37;font-weight:bold", "wrong": "color:#cf222e;font-weight:bold",
             "missed": "text-decoration:underline dotted"}
    return _render(case.tokens, predicted, case.gold, html.escape,
                   lambda kind, inner: f'<span class="{kind}" style="{style[kind]}">{inner}</span>')


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


_LATEX.filters["latex"] = latex_escape


def _latex_sentence(case: Case, predicted: frozenset[Entity]) -> str:
    wrap = {"correct": r"\textcolor{green!50!black}{\textbf{%s}}", "wrong": r"\textcolor{red}{\textbf{%s}}",
            "missed": r"\uline{%s}"}
    return _render(case.tokens, predicted, case.gold, latex_escape, lambda kind, inner: wrap[kind] % inner,
                   underline_words=True)


def _md_sentence(case: Case, predicted: frozenset[Entity]) -> str:
    wrap = {"correct": "**[{}]✓**", "wrong": "~~[{}]~~✗", "missed": "_[{}]_"}
    return _render(case.tokens, predicted, case.gold, lambda text: text, lambda kind, inner: wrap[kind].format(inner))


def _entities_text(tokens: tuple[str, ...], entities: frozenset[Entity]) -> str:
    return "; ".join(f"{' '.join(tokens[s : e + 1])} [{t}]" for t, s, e in sorted(entities, key=lambda x: x[1]))


def build_table5(runs: list[FinishedRun], datasets: list[str], wins: int = CASESTUDY_WINS,
                 losses: int = CASESTUDY_LOSSES) -> tuple[dict[str, list[Case]], pd.DataFrame]:
    """Chosen cases per dataset and a summary (per dataset the seed, fraction and encoder shown, and the
    disagreements per category)."""
    chosen: dict[str, list[Case]] = {}
    summary = []
    for dataset in datasets:
        pair = pick_pair(runs, dataset)
        if pair is None:
            continue
        base_run, ours_run = pair
        baseline, ours = read_predictions(base_run.files.predictions), read_predictions(ours_run.files.predictions)
        check_same_test_set(baseline, ours, str(base_run.files.predictions), str(ours_run.files.predictions))
        cases = mine_cases(dataset, baseline, ours)
        counts = {category: sum(c.category == category for c in cases) for category in CATEGORIES}
        chosen[dataset] = (distinct_cases([c for c in cases if c.category == "joint-max right"], wins)
                           + distinct_cases([c for c in cases if c.category == "baseline right"], losses))
        encoders = sorted({base_run.config.model.encoder, ours_run.config.model.encoder})
        summary.append({"dataset": dataset, "seed": base_run.seed, "fraction": base_run.fraction,
                        "encoder": " / ".join(encoders), "test_sentences": len(baseline),
                        "disagreements": len(cases), **counts})
    if not summary:
        raise MtbionerError("Table 5 needs a baseline and a joint-max run (fraction 100, a shared seed) of some dataset")
    return chosen, pd.DataFrame(summary)


def _rendered(chosen: dict[str, list[Case]], sentence: Callable[[Case, frozenset[Entity]], str],
              labels: Callable[[str], dict[str, str]]) -> list[tuple[str, list[tuple[Case, list[tuple[str, str]]]]]]:
    """Per dataset, per case, the (model label, rendered sentence) rows: the baseline's, then joint-max's;
    `labels(dataset)` names the two models."""
    return [(dataset, [(case, [(labels(dataset)[key], sentence(case, predicted))
                               for key, predicted in (("baseline", case.baseline), ("joint-max", case.ours))])
                       for case in cases])
            for dataset, cases in chosen.items()]


def render_table5(chosen: dict[str, list[Case]], summary: pd.DataFrame, out_prefix: str | Path) -> list[Path]:
    prefix = Path(out_prefix)
    shown = summary.set_index("dataset")
    encoder = {str(d): str(row["encoder"]) for d, row in shown.iterrows()}
    which = "; ".join(f"{d}: seed {int(row['seed'])}, {int(row['fraction'])} % of the training data, encoder "
                      f"{row['encoder']}" for d, row in shown.iterrows())
    legend = ("Green: predicted entity that matches a gold entity (type and boundaries); red: wrong predicted "
              f"entity; underlined: gold entity the model misses. Runs shown: {which}.")
    counts_md = summary.to_markdown(index=False)
    # HTML (escaped by Jinja) and LaTeX (needs xcolor and ulem; escaped by `latex_escape`) from templates
    page = _HTML.get_template("table5.html.j2").render(
        legend=legend, summary=Markup(summary.to_html(index=False)),
        datasets=_rendered(chosen, lambda case, predicted: Markup(_html_sentence(case, predicted)),
                           lambda dataset: display_labels(encoder[dataset])))
    tex = _LATEX.get_template("table5.tex.j2").render(
        legend=legend, datasets=_rendered(chosen, _latex_sentence, lambda dataset: latex_labels(encoder[dataset])))
    # Markdown and CSV
    md = ["### Table 5: sentences where the baseline and joint-max disagree", "",
          "Mined automatically (ranked as described in `mtbioner.report.render.casestudy`). In Markdown: **[correct]✓**, "
          "~~[wrong]~~✗, _[missed gold]_; the HTML and LaTeX versions are coloured (green / red). "
          "A mention is shown once (cases repeating one already shown are skipped).", ""]
    rows = []
    for dataset, cases in chosen.items():
        row = shown.loc[dataset]
        md.append(f"**{dataset}** — seed {int(row['seed'])}, {int(row['fraction'])} % of the training data, "
                  f"encoder {row['encoder']}\n")
        md.append("| case | model | result |\n|---|---|---|")
        for case in cases:
            for key, predicted in (("baseline", case.baseline), ("joint-max", case.ours)):
                md.append(f"| {case.category} (#{case.index + 1}) | {display_labels(encoder[dataset])[key]} | "
                          f"{_md_sentence(case, predicted).replace('|', '&#124;')} |")
            rows.append({"dataset": dataset, "category": case.category, "test_sentence": case.index + 1,
                         "text": " ".join(case.tokens), "gold": _entities_text(case.tokens, case.gold),
                         "baseline": _entities_text(case.tokens, case.baseline),
                         "joint_max": _entities_text(case.tokens, case.ours)})
        md.append("")
    md += ["Disagreements per dataset (all of them, not only the ones shown):", "", counts_md, ""]
    paths = [prefix.with_suffix(".html"), prefix.with_suffix(".tex"), prefix.with_suffix(".md"), prefix.with_suffix(".csv")]
    write_text(paths[0], page)
    write_text(paths[1], tex)
    write_text(paths[2], "\n".join(md) + "\n")
    write_text(paths[3], pd.DataFrame(rows, columns=["dataset", "category", "test_sentence", "text", "gold",
                                                     "baseline", "joint_max"]).to_csv(index=False))
    return paths


def write_table5(runs: list[FinishedRun], out_prefix: str | Path, *, wins: int, losses: int) -> int:
    """Table 5 of every dataset in `runs` as `<prefix>.{html,tex,md,csv}`; returns the number of cases shown."""
    chosen, summary = build_table5(runs, sorted({r.dataset for r in runs}), wins=wins, losses=losses)
    render_table5(chosen, summary, out_prefix)
    return sum(len(cases) for cases in chosen.values())
