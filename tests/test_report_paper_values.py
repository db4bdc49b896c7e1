"""The embedded paper numbers (Tables 2-4) must be exactly the paper's rows; the paper's average low-resource
gains are computed from its Table 3 (its prose quotes other numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtbioner.report import paper_values as pv

PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper" / "mt-bioner-paper.txt"
needs_paper = pytest.mark.skipif(not PAPER.is_file(), reason="the paper's text is not on this machine")


def _row(values) -> str:
    return " ".join(f"{v:.2f}" for v in values)


def _text() -> str:
    return PAPER.read_text(encoding="utf-8")


@needs_paper
@pytest.mark.parametrize("table,names", [(pv.TABLE2, pv.TABLE2_ROW_NAMES), (pv.TABLE4, pv.TABLE4_ROW_NAMES)])
def test_tables_2_and_4_rows_appear_in_the_paper(table, names):
    text = _text()
    for experiment, per_dataset in table.items():
        values = [v for dataset in pv.PAPER_DATASETS for v in per_dataset[dataset]]
        # the paper prints "Ours MAX ..." / "SOTA* ..." / "Ours ..." / "w/o bCLS ..." rows
        assert _row(values) in text, f"{names[experiment]}: {_row(values)} not in the paper"


@needs_paper
def test_table3_rows_appear_in_the_paper():
    text = _text()
    for dataset in pv.PAPER_DATASETS:
        for index, metric in enumerate(("P", "R", "F1")):
            values = []
            for fraction in pv.TABLE3_FRACTIONS:
                cs = pv.TABLE3_CS_MTM.get(dataset, {}).get(fraction)
                values.append("-" if cs is None else f"{cs[index]:.2f}")
                values.append(f"{pv.TABLE3['baseline'][dataset][fraction][index]:.2f}")
                values.append(f"{pv.TABLE3['joint-max'][dataset][fraction][index]:.2f}")
            assert f"{metric} {' '.join(values)}" in text, f"{dataset} {metric} row differs from the paper"


@needs_paper
def test_false_positive_rates_and_lookup():
    assert "2.38%, 2.71%\nand 2.87%" in _text()
    assert pv.paper_value(2, "joint-max", "NCBI-disease", "f1") == 89.91
    assert pv.paper_value(3, "baseline", "BC2GM", "recall", 25) == 81.60
    assert pv.paper_value(4, "alternating", "BC5CDR-chem", "precision") == 93.41
    assert pv.paper_value(2, "no-such", "BC2GM", "f1") is None


def test_table3_average_gains_are_computed_from_the_table():
    gains = pv.table3_average_gains()
    assert {f: round(g, 2) for f, g in gains.items()} == {100: 0.49, 50: 0.50, 25: 1.08, 10: 1.49}
    # by hand from Table 3's F1 (Ours − SOTA): 10 %: (77.93 − 77.22) + (90.81 − 90.34) + (83.39 − 80.10) = 4.47
    assert gains[10] == pytest.approx(4.47 / 3)
    assert gains[50] == pytest.approx((0.17 + 0.80 + 0.54) / 3) and gains[25] == pytest.approx((0.81 + 1.11 + 1.33) / 3)
    # ... which is not what the paper's prose says
    for fraction, prose in pv.TABLE3_PROSE_AVERAGE_GAINS.items():
        assert round(gains[fraction], 2) != prose


@needs_paper
def test_prose_averages_are_quoted_from_the_paper():
    averages = ", ".join(f"{v:.2f}" for v in list(pv.TABLE3_PROSE_AVERAGE_GAINS.values())[:2])
    last = f"{list(pv.TABLE3_PROSE_AVERAGE_GAINS.values())[2]:.2f}"
    assert f"an average of {averages} and {last}\nF1-score improvements" in _text()
