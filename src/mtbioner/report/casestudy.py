"""Table 5: test sentences on which the baseline and joint-max disagree, mined automatically.

For each dataset, the first seed both models share, full training data. A sentence qualifies when the two
predicted entity sets differ. Categories, in display order:
  "joint-max right"  — joint-max finds exactly the gold entities, the baseline does not (the paper's examples);
  "baseline right"   — the reverse (shown too: the paper only shows wins);
  "both wrong"       — they differ and neither is exact (counted, not shown).
Within a category, sentences rank by how many entities the loser gets wrong (most instructive first), then by
length (short sentences read better), then by position. Predicted entities are coloured green when they match
a gold entity exactly (type and boundaries) and red otherwise; gold entities the model misses are underlined.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mtbioner.atomicio import write_text
from mtbioner.errors import MtbionerError
from mtbioner.report.predictions import Entity, PredictedSentence, check_same_test_set, read_predictions
from mtbioner.report.runs import RunRecord

CATEGORIES = ("joint-max right", "baseline right", "both wrong")
DISPLAY_LABELS = {"baseline": "Baseline (BioBERT-style single task)", "joint-max": "Ours (joint, MAX)"}


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


def pick_pair(runs: list[RunRecord], dataset: str) -> tuple[RunRecord, RunRecord] | None:
    """Baseline and joint-max runs of `dataset` (full data) with the lowest seed they share."""
    base = {r.seed: r for r in runs if r.dataset == dataset and r.experiment == "baseline" and r.fraction == 100}
    ours = {r.seed: r for r in runs if r.dataset == dataset and r.experiment == "joint-max" and r.fraction == 100}
    shared = sorted(set(base) & set(ours))
    return (base[shared[0]], ours[shared[0]]) if shared else None


# ------------------------------------------------------------------------------------------------ rendering
def _spans(tokens: tuple[str, ...], predicted: frozenset[Entity], gold: frozenset[Entity]):
    """Yield (text, kind) pieces: kind in {"correct", "wrong", "missed", None}."""
    starts = {start: (start, end, "correct" if (t, start, end) in gold else "wrong") for t, start, end in predicted}
    missed = {start: (start, end, "missed") for t, start, end in gold
              if (t, start, end) not in predicted and not any(s <= start <= e for _, s, e in predicted)}
    i = 0
    while i < len(tokens):
        span = starts.get(i) or missed.get(i)
        if span:
            _, end, kind = span
            yield " ".join(tokens[i : end + 1]), kind
            i = end + 1
        else:
            yield tokens[i], None
            i += 1


def _html_sentence(case: Case, predicted: frozenset[Entity]) -> str:
    style = {"correct": "color:#1a7f37;font-weight:bold", "wrong": "color:#cf222e;font-weight:bold",
             "missed": "text-decoration:underline dotted"}
    out = []
    for text, kind in _spans(case.tokens, predicted, case.gold):
        text = html.escape(text)
        out.append(f'<span class="{kind}" style="{style[kind]}">{text}</span>' if kind else text)
    return " ".join(out)


_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)


def _latex_sentence(case: Case, predicted: frozenset[Entity]) -> str:
    wrap = {"correct": r"\textcolor{green!50!black}{\textbf{%s}}", "wrong": r"\textcolor{red}{\textbf{%s}}",
            "missed": r"\uline{%s}"}
    return " ".join(wrap[kind] % latex_escape(text) if kind else latex_escape(text)
                    for text, kind in _spans(case.tokens, predicted, case.gold))


def _md_sentence(case: Case, predicted: frozenset[Entity]) -> str:
    wrap = {"correct": "**[{}]✓**", "wrong": "~~[{}]~~✗", "missed": "_[{}]_"}
    return " ".join(wrap[kind].format(text) if kind else text for text, kind in _spans(case.tokens, predicted, case.gold))


def _entities_text(tokens: tuple[str, ...], entities: frozenset[Entity]) -> str:
    return "; ".join(f"{' '.join(tokens[s : e + 1])} [{t}]" for t, s, e in sorted(entities, key=lambda x: x[1]))


def build_table5(runs: list[RunRecord], datasets: list[str], wins: int = 2, losses: int = 1
                 ) -> tuple[dict[str, list[Case]], pd.DataFrame]:
    """Chosen cases per dataset and a summary (disagreements per category and the seed used)."""
    chosen: dict[str, list[Case]] = {}
    summary = []
    for dataset in datasets:
        pair = pick_pair(runs, dataset)
        if pair is None:
            continue
        base_run, ours_run = pair
        baseline, ours = read_predictions(base_run.predictions_file), read_predictions(ours_run.predictions_file)
        check_same_test_set(baseline, ours, str(base_run.predictions_file), str(ours_run.predictions_file))
        cases = mine_cases(dataset, baseline, ours)
        counts = {category: sum(c.category == category for c in cases) for category in CATEGORIES}
        chosen[dataset] = ([c for c in cases if c.category == "joint-max right"][:wins]
                           + [c for c in cases if c.category == "baseline right"][:losses])
        summary.append({"dataset": dataset, "seed": base_run.seed, "test_sentences": len(baseline),
                        "disagreements": len(cases), **counts})
    if not summary:
        raise MtbionerError("Table 5 needs a baseline and a joint-max run (fraction 100, a shared seed) of some dataset")
    return chosen, pd.DataFrame(summary)


def render_table5(chosen: dict[str, list[Case]], summary: pd.DataFrame, out_prefix: str | Path) -> list[Path]:
    prefix = Path(out_prefix)
    legend = ("Green: predicted entity that matches a gold entity (type and boundaries); red: wrong predicted "
              "entity; underlined: gold entity the model misses.")
    counts_md = summary.to_markdown(index=False)
    # HTML
    parts = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\"><title>Table 5</title>",
             "<style>table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
             "vertical-align:top}</style></head><body>",
             "<h3>Table 5: sentences where the baseline and joint-max disagree</h3>", f"<p>{html.escape(legend)}</p>",
             "<table><tr><th>Dataset</th><th>Case</th><th>Model</th><th>Result</th></tr>"]
    for dataset, cases in chosen.items():
        for case in cases:
            for key, predicted in (("baseline", case.baseline), ("joint-max", case.ours)):
                parts.append(f"<tr><td>{html.escape(dataset)}</td><td>{html.escape(case.category)} "
                             f"(test #{case.index + 1})</td><td>{html.escape(DISPLAY_LABELS[key])}</td>"
                             f"<td>{_html_sentence(case, predicted)}</td></tr>")
    parts += ["</table>", "<h4>Disagreements per dataset</h4>", summary.to_html(index=False), "</body></html>"]
    # LaTeX (needs xcolor and ulem)
    tex = ["% requires \\usepackage[table]{xcolor} and \\usepackage[normalem]{ulem}; corpus text may hold Unicode",
           "% (Greek letters, symbols): compile with xelatex/lualatex, or declare those characters for pdflatex",
           "\\begin{table*}[t]", "\\centering\\small", "\\begin{tabular}{llp{0.62\\textwidth}}", "\\toprule",
           "Dataset & Model & Result \\\\", "\\midrule"]
    for dataset, cases in chosen.items():
        for case in cases:
            tex.append(f"\\multicolumn{{3}}{{l}}{{\\emph{{{latex_escape(dataset)}: {case.category}, test sentence "
                       f"{case.index + 1}}}}} \\\\")
            for key, predicted in (("baseline", case.baseline), ("joint-max", case.ours)):
                name = "BioBERT (baseline)" if key == "baseline" else "Ours (MAX)"
                tex.append(f"{latex_escape(dataset)} & {name} & {_latex_sentence(case, predicted)} \\\\")
        tex.append("\\midrule")
    tex += ["\\bottomrule", "\\end{tabular}",
            f"\\caption{{Sentences where the baseline and joint-max disagree. {latex_escape(legend)}}}",
            "\\label{tab:table5}", "\\end{table*}"]
    # Markdown and CSV
    md = ["### Table 5: sentences where the baseline and joint-max disagree", "",
          "Mined automatically (ranked as described in `mtbioner.report.casestudy`). In Markdown: **[correct]✓**, "
          "~~[wrong]~~✗, _[missed gold]_; the HTML and LaTeX versions are coloured (green / red).", ""]
    rows = []
    for dataset, cases in chosen.items():
        md.append(f"**{dataset}**\n")
        md.append("| case | model | result |\n|---|---|---|")
        for case in cases:
            for key, predicted in (("baseline", case.baseline), ("joint-max", case.ours)):
                md.append(f"| {case.category} (#{case.index + 1}) | {DISPLAY_LABELS[key]} | "
                          f"{_md_sentence(case, predicted).replace('|', '&#124;')} |")
            rows.append({"dataset": dataset, "category": case.category, "test_sentence": case.index + 1,
                         "text": " ".join(case.tokens), "gold": _entities_text(case.tokens, case.gold),
                         "baseline": _entities_text(case.tokens, case.baseline),
                         "joint_max": _entities_text(case.tokens, case.ours)})
        md.append("")
    md += ["Disagreements per dataset (all of them, not only the ones shown):", "", counts_md, ""]
    paths = [prefix.with_suffix(".html"), prefix.with_suffix(".tex"), prefix.with_suffix(".md"), prefix.with_suffix(".csv")]
    write_text(paths[0], "\n".join(parts) + "\n")
    write_text(paths[1], "\n".join(tex) + "\n")
    write_text(paths[2], "\n".join(md) + "\n")
    write_text(paths[3], pd.DataFrame(rows, columns=["dataset", "category", "test_sentence", "text", "gold",
                                                     "baseline", "joint_max"]).to_csv(index=False))
    return paths
