"""Table 5: disagreements mined, categorised, ranked and coloured."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from mtbioner.errors import MtbionerError
from mtbioner.report.render.casestudy import Case, _md_sentence, build_table5, latex_escape, mine_cases, render_table5
from mtbioner.report.stats.predictions import read_predictions
from mtbioner.run.directory import load_runs
from test_report_fixtures import predictions, write_run


def test_mining_categories_and_ranking(tmp_path):
    # baseline misses the entity of sentences 1, 2 and 4 and hallucinates in 0; joint-max misses only 5
    base = write_run(tmp_path, "BC2GM", "baseline", pred=predictions(miss={1, 2, 4}, spurious={0}))
    ours = write_run(tmp_path, "BC2GM", "joint-max", pred=predictions(miss={5}))
    cases = mine_cases("BC2GM", read_predictions(base / "test_predictions.tsv"),
                       read_predictions(ours / "test_predictions.tsv"))
    assert [(c.category, c.index) for c in cases] == [
        # joint-max right first; the baseline makes one error in each, so shorter sentences come first
        # (sentence 2 has 4 words, 0 has 5, 1 and 4 have 6 -> by position)
        ("joint-max right", 2), ("joint-max right", 0), ("joint-max right", 1), ("joint-max right", 4),
        ("baseline right", 5),
    ]


def test_rendered_table5_colours_entities(tmp_path):
    write_run(tmp_path, "BC2GM", "baseline", pred=predictions(miss={1}, spurious={0}))
    write_run(tmp_path, "BC2GM", "joint-max", pred=predictions(miss={2}))
    write_run(tmp_path, "NCBI-disease", "baseline", pred=predictions())
    write_run(tmp_path, "NCBI-disease", "joint-max", pred=predictions())  # no disagreement at all
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    chosen, summary = build_table5(runs, ["BC2GM", "NCBI-disease"], wins=2, losses=1)
    assert [c.index for c in chosen["BC2GM"]] == [0, 1, 2] and chosen["NCBI-disease"] == []
    assert summary.set_index("dataset").loc["BC2GM", "disagreements"] == 3
    html, tex, md, csv = (p.read_text(encoding="utf-8") for p in render_table5(chosen, summary, tmp_path / "table5"))
    # sentence 1: "BRCA1 binds tumour protein p1 ." — baseline misses BRCA1 (underlined) but finds the
    # multi-word entity (green); sentence 0: baseline's spurious "Cells" is red
    assert '<span class="correct" style="color:#1a7f37;font-weight:bold">tumour protein p1</span>' in html
    assert '<span class="wrong" style="color:#cf222e;font-weight:bold">Cells</span>' in html
    assert '<span class="missed"' in html
    assert "\\textcolor{red}{\\textbf{Cells}}" in tex and "\\textcolor{green!50!black}" in tex
    assert "~~[Cells]~~✗" in md and "**[tumour protein p1]✓**" in md
    assert "joint-max right" in csv and "baseline right" in csv


def test_latex_escape():
    assert latex_escape("50% of IL_2 & {x} #1 $") == r"50\% of IL\_2 \& \{x\} \#1 \$"


def test_table5_needs_a_pair_of_runs(tmp_path):
    write_run(tmp_path, "BC2GM", "baseline")
    with pytest.raises(MtbionerError, match="Table 5 needs"):
        build_table5(load_runs(sorted(tmp_path.glob("runs/*/*/*/*"))), ["BC2GM"])


class _TagBalance(HTMLParser):
    """Fails on a closing tag that does not close the innermost open one (crossed markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in {"meta"}:
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def _balanced_braces(tex: str) -> bool:
    depth = 0
    for i, char in enumerate(tex):
        if char in "{}" and tex[i - 1] != "\\":
            depth += 1 if char == "{" else -1
            if depth < 0:
                return False
    return depth == 0


def test_wrong_entity_inside_a_missed_gold_entity_is_shown_too(tmp_path):
    # gold entity = words 2-4; the baseline predicts words 3-4 only: a missed gold entity AND a wrong prediction
    gold = [(["Loss", "of", "tumour", "suppressor", "p53", "."], ["O", "O", "B-Gene", "I-Gene", "I-Gene", "O"])]
    write_run(tmp_path, "BC2GM", "baseline", gold=gold, pred=[["O", "O", "O", "B-Gene", "I-Gene", "O"]])
    write_run(tmp_path, "BC2GM", "joint-max", gold=gold, pred=[gold[0][1]])
    chosen, summary = build_table5(load_runs(sorted(tmp_path.glob("runs/*/*/*/*"))), ["BC2GM"])
    [case] = chosen["BC2GM"]
    assert case.category == "joint-max right" and case.baseline == {("Gene", 3, 4)} and case.gold == {("Gene", 2, 4)}
    html, tex, md, _ = (p.read_text(encoding="utf-8") for p in render_table5(chosen, summary, tmp_path / "table5"))

    missed = '<span class="missed" style="text-decoration:underline dotted">'
    wrong = '<span class="wrong" style="color:#cf222e;font-weight:bold">'
    # the underline covers the whole gold entity and holds the red wrong prediction
    assert f"<td>Loss of {missed}tumour {wrong}suppressor p53</span></span> .</td>" in html
    assert '<span class="correct" style="color:#1a7f37;font-weight:bold">tumour suppressor p53</span> .' in html
    checker = _TagBalance()
    checker.feed(html)
    assert checker.open == []

    # LaTeX: \\uline only ever holds plain words (ulem), inside the colour of the wrong entity
    assert ("BC2GM & Baseline (tiny) & Loss of \\uline{tumour} \\textcolor{red}{\\textbf{\\uline{suppressor p53}}} ."
            in tex)
    assert "\\textcolor{green!50!black}{\\textbf{tumour suppressor p53}}" in tex
    assert _balanced_braces(tex)

    assert "| Baseline (single-task NER, tiny) | Loss of _[tumour ~~[suppressor p53]~~✗]_ . |" in md
    assert "| Ours (joint, MAX, tiny) | Loss of **[tumour suppressor p53]✓** . |" in md


@pytest.mark.parametrize("predicted,expected", [
    # a wrong entity crossing the start of the missed gold one: the underline is cut at its boundary
    ({("Gene", 1, 3)}, "The ~~[BRCA1 _[tumour suppressor]_]~~✗ _[gene]_ is mutated"),
    # one crossing its end
    ({("Gene", 3, 5)}, "The BRCA1 _[tumour]_ ~~[_[suppressor gene]_ is]~~✗ mutated"),
    # a wrong entity containing the gold one, and one with the gold boundaries but the wrong type
    ({("Gene", 0, 5)}, "~~[The BRCA1 _[tumour suppressor gene]_ is]~~✗ mutated"),
    ({("Chemical", 2, 4)}, "The BRCA1 _[~~[tumour suppressor gene]~~✗]_ is mutated"),
    # two wrong pieces inside it, and the correct prediction
    ({("Gene", 2, 2), ("Gene", 4, 4)}, "The BRCA1 _[~~[tumour]~~✗ suppressor ~~[gene]~~✗]_ is mutated"),
    ({("Gene", 2, 4)}, "The BRCA1 **[tumour suppressor gene]✓** is mutated"),
])
def test_overlapping_wrong_and_missed_entities_nest(predicted, expected):
    tokens = ("The", "BRCA1", "tumour", "suppressor", "gene", "is", "mutated")
    case = Case("BC2GM", 0, "both wrong", tokens, frozenset({("Gene", 2, 4)}), frozenset(predicted), frozenset())
    assert _md_sentence(case, frozenset(predicted)) == expected


def test_table5_names_encoder_seed_and_fraction_and_shows_a_mention_once(tmp_path):
    """The first CPU finding called a MiniLM baseline "BioBERT", did not say which run it showed, and showed
    "congenital DM" twice (two test sentences, the same mention and error)."""
    from test_report_fixtures import gold_sentences

    gold = gold_sentences()
    # sentences 1 and 4 are the same sentence with the same mention: "DM binds tumour protein p1 ."
    gold[1] = (["DM", *gold[1][0][1:]], gold[1][1])
    gold[4] = (list(gold[1][0]), list(gold[1][1]))
    weak = [list(tags) for _, tags in gold]
    for i in (1, 4, 7):  # the baseline misses the first entity of 1, 4 (the repeat) and 7
        weak[i][0] = "O"
    for seed in (42, 13):
        write_run(tmp_path, "NCBI-disease", "baseline", seed=seed, pred=weak, gold=gold, encoder="minilm")
        write_run(tmp_path, "NCBI-disease", "joint-max", seed=seed, gold=gold, encoder="minilm")
    # a variant of joint-max at full data must not be picked instead of the plain runs
    write_run(tmp_path, "NCBI-disease", "joint-max", seed=1, variant="x4", gold=gold, encoder="minilm",
              pred=weak)
    runs = load_runs(sorted(tmp_path.glob("runs/*/*/*/*")))
    chosen, summary = build_table5(runs, ["NCBI-disease"], wins=3, losses=1)
    # 1 and 4 dispute the same mention "DM": only the first of them is shown, then 7
    assert [c.index for c in chosen["NCBI-disease"]] == [1, 7]
    row = summary.set_index("dataset").loc["NCBI-disease"]
    assert (row["seed"], row["fraction"], row["encoder"], row["disagreements"]) == (13, 100, "minilm", 3)
    html, tex, md, csv = (p.read_text(encoding="utf-8") for p in render_table5(chosen, summary, tmp_path / "t5"))
    for text in (html, tex, md):
        assert "BioBERT" not in text
        assert "seed 13, 100" in text and "of the training data, encoder minilm" in text  # (LaTeX escapes the percent sign)
    assert "Baseline (single-task NER, minilm)" in md and "Baseline (minilm)" in tex
    assert "**NCBI-disease** — seed 13, 100 % of the training data, encoder minilm" in md
