"""The numbers the paper reports (Tables 2-4, the false-positive-sentence rates), kept as data.

Copied from ../shared/paper/mt-bioner-paper.txt; `tests/test_report_paper_values.py` re-reads the paper
text and checks every row here against it, so a typo cannot hide. Values are percentages, as printed.

Mapping of our experiments to the paper's rows:
- Table 2: baseline -> "SOTA*" (the authors' own BioBERT re-run), joint-cls/-mean/-max -> "Ours CLS/MEAN/MAX".
- Table 3: baseline -> "SOTA" (the paper's column is Lee et al. 2020, whose full-size row equals Table 2's
  "SOTA", not "SOTA*"), joint-max -> "Ours". CS-MTM (Wang et al. 2019a) is kept as data for reference only.
- Table 4: joint-max -> "Ours", no-bcls/no-mcls/no-mt -> "w/o bCLS/mCLS/mtCLS", alternating -> "w/o Joint".
"""

from __future__ import annotations

from typing import Final

PAPER_DATASETS: Final = ("BC2GM", "BC5CDR-chem", "NCBI-disease")
METRICS: Final = ("precision", "recall", "f1")

#: (precision, recall, f1) per paper row and dataset.
PRF = tuple[float, float, float]

TABLE2: Final[dict[str, dict[str, PRF]]] = {
    "baseline": {"BC2GM": (83.57, 85.22, 84.38), "BC5CDR-chem": (92.98, 94.24, 93.60), "NCBI-disease": (87.83, 90.21, 89.00)},
    "joint-cls": {"BC2GM": (83.21, 85.00, 84.09), "BC5CDR-chem": (92.95, 94.28, 93.61), "NCBI-disease": (88.29, 90.31, 89.29)},
    "joint-mean": {"BC2GM": (84.31, 83.78, 84.04), "BC5CDR-chem": (94.08, 93.24, 93.66), "NCBI-disease": (87.75, 91.77, 89.71)},
    "joint-max": {"BC2GM": (84.42, 85.14, 84.78), "BC5CDR-chem": (93.29, 94.69, 93.98), "NCBI-disease": (88.90, 90.94, 89.91)},
}
TABLE2_ROW_NAMES: Final = {"baseline": "SOTA*", "joint-cls": "Ours CLS", "joint-mean": "Ours MEAN", "joint-max": "Ours MAX"}

#: Table 3: experiment -> dataset -> fraction -> (P, R, F1).
TABLE3: Final[dict[str, dict[str, dict[int, PRF]]]] = {
    "baseline": {
        "BC2GM": {100: (85.16, 83.65, 84.40), 50: (82.21, 83.73, 82.96), 25: (80.15, 81.60, 80.87), 10: (75.27, 79.27, 77.22)},
        "BC5CDR-chem": {100: (93.27, 93.61, 93.44), 50: (91.97, 92.37, 92.17), 25: (89.99, 92.48, 91.22), 10: (89.78, 90.90, 90.34)},
        "NCBI-disease": {100: (89.04, 89.69, 89.36), 50: (85.77, 91.67, 88.62), 25: (81.22, 88.33, 85.79), 10: (79.69, 80.52, 80.10)},
    },
    "joint-max": {
        "BC2GM": {100: (84.42, 85.14, 84.78), 50: (81.78, 84.52, 83.13), 25: (80.82, 82.56, 81.68), 10: (76.60, 79.32, 77.93)},
        "BC5CDR-chem": {100: (93.29, 94.69, 93.98), 50: (92.00, 93.96, 92.97), 25: (91.38, 93.30, 92.33), 10: (90.29, 91.33, 90.81)},
        "NCBI-disease": {100: (88.90, 90.94, 89.91), 50: (92.50, 86.04, 89.16), 25: (83.96, 90.52, 87.12), 10: (83.65, 83.13, 83.39)},
    },
}
TABLE3_ROW_NAMES: Final = {"baseline": "SOTA", "joint-max": "Ours"}
#: CS-MTM (Wang et al. 2019a) as printed in Table 3 ("-" for BC5CDR-chem): reference only, not reproduced.
TABLE3_CS_MTM: Final[dict[str, dict[int, PRF]]] = {
    "BC2GM": {100: (83.21, 85.74, 84.41), 50: (79.37, 85.05, 82.12), 25: (79.44, 78.98, 79.21), 10: (72.95, 75.39, 74.15)},
    "NCBI-disease": {100: (86.59, 86.42, 86.50), 50: (84.72, 84.76, 84.74), 25: (81.00, 81.00, 81.00), 10: (79.32, 74.40, 76.68)},
}
TABLE3_FRACTIONS: Final = (100, 50, 25, 10)

#: Section 4.3's prose: "for 50%-size, 25%-size and 10%-size datasets, our model can get an average of 0.56, 0.79
#: and 1.72 F1-score improvements over the BioBERT". The paper's own Table 3 does not give these averages
#: (see `table3_average_gains`: +0.50, +1.08, +1.49); they are kept only so the report can say so, never used
#: as the paper's result.
TABLE3_PROSE_AVERAGE_GAINS: Final[dict[int, float]] = {50: 0.56, 25: 0.79, 10: 1.72}

TABLE4: Final[dict[str, dict[str, PRF]]] = {
    "joint-max": {"BC2GM": (84.42, 85.14, 84.78), "BC5CDR-chem": (93.29, 94.69, 93.98), "NCBI-disease": (88.90, 90.94, 89.91)},
    "no-bcls": {"BC2GM": (83.72, 84.71, 84.21), "BC5CDR-chem": (92.82, 94.06, 93.43), "NCBI-disease": (87.41, 91.14, 89.24)},
    "no-mcls": {"BC2GM": (84.48, 84.28, 84.39), "BC5CDR-chem": (93.82, 93.67, 93.75), "NCBI-disease": (88.12, 91.15, 89.61)},
    "no-mt": {"BC2GM": (83.44, 84.82, 84.12), "BC5CDR-chem": (93.98, 93.57, 93.78), "NCBI-disease": (87.48, 91.67, 89.52)},
    "alternating": {"BC2GM": (83.68, 83.26, 83.47), "BC5CDR-chem": (93.41, 92.88, 93.14), "NCBI-disease": (87.30, 89.48, 88.37)},
}
TABLE4_ROW_NAMES: Final = {
    "joint-max": "Ours", "no-bcls": "w/o bCLS", "no-mcls": "w/o mCLS", "no-mt": "w/o mtCLS", "alternating": "w/o Joint",
}

#: Section 4.3: "sentences without entities in which the model predicts an entity" — 2.38 %, 2.71 %, 2.87 %.
#: The paper does not say which model these rates belong to (they motivate bCLS, so presumably BioBERT).
FALSE_POSITIVE_SENTENCE_RATE: Final[dict[str, float]] = {"BC2GM": 2.38, "BC5CDR-chem": 2.71, "NCBI-disease": 2.87}


def table3_average_gains(fractions: tuple[int, ...] = TABLE3_FRACTIONS) -> dict[int, float]:
    """The paper's low-resource gains as its Table 3 gives them: per training-set fraction, Ours − SOTA F1
    averaged over the three datasets (50 %: +0.50, 25 %: +1.08, 10 %: +1.49 after rounding)."""
    return {fraction: sum(TABLE3["joint-max"][d][fraction][2] - TABLE3["baseline"][d][fraction][2]
                          for d in PAPER_DATASETS) / len(PAPER_DATASETS)
            for fraction in fractions}


def paper_value(table: int, experiment: str, dataset: str, metric: str, fraction: int = 100) -> float | None:
    """The paper's percentage for one cell, or None where the paper has no such number."""
    index = METRICS.index(metric)
    if table == 2:
        row = TABLE2.get(experiment, {}).get(dataset)
    elif table == 3:
        row = TABLE3.get(experiment, {}).get(dataset, {}).get(fraction)
    elif table == 4:
        row = TABLE4.get(experiment, {}).get(dataset)
    else:
        raise ValueError(f"the paper has no P/R/F1 table {table}")
    return None if row is None else row[index]
