"""Table 5: disagreements mined, categorised, ranked and coloured."""

from __future__ import annotations

import pytest

from mtbioner.errors import MtbionerError
from mtbioner.report.casestudy import build_table5, latex_escape, mine_cases, render_table5
from mtbioner.report.predictions import read_predictions
from mtbioner.report.runs import load_runs
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
