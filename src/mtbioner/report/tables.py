"""Tables 2-4 of the paper, reproduced: Markdown, LaTeX and CSV.

Every cell is our mean ± sample std over seeds (in %, as the paper prints), beside the paper's value and
the delta (our mean − paper). A † on our F1 marks a difference that the one-sided paired bootstrap finds
significant (p < alpha) in every seed pair; what it is tested against is the table's claim:
- Tables 2 and 3: a gain of the model over our baseline (same dataset, fraction and seed);
- Table 4 (ablations): joint-max, the full model, better than the ablation on whose row the † sits, i.e.
  removing that task (or joint training) hurts; the joint-max row itself carries no †.
The per-pair p-values of both kinds are in `significance.csv` (column `reference`). The CSV of a table is the
tidy long form (one row per dataset × model × fraction × metric) for anyone re-plotting the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mtbioner.atomicio import write_text
from mtbioner.report import paper_values
from mtbioner.report.aggregate import cell, seed_stats
from mtbioner.report.defaults import ALPHA, BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED
from mtbioner.run.directory import FinishedRun
from mtbioner.report.significance import COLUMNS, compare_to_reference

METRIC_LABELS = {"precision": "P", "recall": "R", "f1": "F1"}
FP_COLUMN = "false_positive_sentence_rate"


@dataclass(frozen=True)
class TableSpec:
    number: int
    title: str
    experiments: tuple[str, ...]
    row_names: dict[str, str]
    by_fraction: bool  # Table 3: one block per training-set fraction
    #: What the † tests: against which experiment, and in which direction. reference_better=False: "the row's
    #: model beats the reference" (a gain over the baseline); True: "the reference beats the row's model"
    #: (an ablation: the full model is better than the model without one task).
    reference: str = "baseline"
    reference_better: bool = False


TABLE_SPECS: dict[int, TableSpec] = {
    2: TableSpec(2, "Model performance: baseline (SOTA*) vs the joint model with CLS / MEAN / MAX pooling",
                 ("baseline", "joint-cls", "joint-mean", "joint-max"), paper_values.TABLE2_ROW_NAMES, False),
    3: TableSpec(3, ("Impact of the training-set size (test set unchanged): baseline vs joint-max; the paper's "
                    "baseline column here is its SOTA (Lee et al. 2020), not its own re-run SOTA*"),
                 ("baseline", "joint-max"), paper_values.TABLE3_ROW_NAMES, True),
    4: TableSpec(4, "Ablations: joint-max without one auxiliary task, and with alternating training (w/o Joint)",
                 ("joint-max", "no-bcls", "no-mcls", "no-mtcls", "alternating"), paper_values.TABLE4_ROW_NAMES, False,
                 reference="joint-max", reference_better=True),
}


def significance_frame(runs: list[FinishedRun], samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                       alpha: float = ALPHA) -> pd.DataFrame:
    """Every paired-bootstrap comparison of the tables, one row per seed pair (significance.COLUMNS): each
    model of Tables 2-4 against the baseline (the † of Tables 2, 3), then joint-max against each ablation
    (the † of Table 4)."""
    tests: dict[tuple[str, bool], set[str]] = {("baseline", False): set()}
    for spec in TABLE_SPECS.values():
        tests[("baseline", False)].update(set(spec.experiments) - {"baseline"})
        against_reference = tests.setdefault((spec.reference, spec.reference_better), set())
        against_reference.update(set(spec.experiments) - {spec.reference})
    frames = [compare_to_reference(runs, reference, sorted(experiments), reference_better=better, samples=samples,
                                   seed=seed, alpha=alpha)
              for (reference, better), experiments in tests.items()]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)


def _significance_marks(significance: pd.DataFrame, spec: TableSpec) -> dict[tuple[str, str, int], tuple[int, int]]:
    """(dataset, experiment, fraction) -> (seed pairs significant, seed pairs tested), from the rows tested
    against the table's reference (rows without a `reference` column are against the baseline)."""
    marks: dict[tuple[str, str, int], tuple[int, int]] = {}
    if "reference" in significance.columns:
        significance = significance[significance["reference"] == spec.reference]
    elif spec.reference != "baseline":
        return marks
    if significance.empty:
        return marks
    for key, group in significance.groupby(["dataset", "experiment", "fraction"]):
        marks[(str(key[0]), str(key[1]), int(key[2]))] = (int(group["significant"].sum()), len(group))
    return marks


def table_fractions(spec: TableSpec, runs: pd.DataFrame, dataset: str) -> list[int]:
    """The fractions one dataset's block of a table shows, largest first: Table 3 every fraction at which
    its models ran; Tables 2 and 4 the fractions at which their own models (pooling variants, ablations) ran —
    100 % in the paper preset, 10 % in config/cpu.yaml (without them: 100 %, if its baseline or joint-max ran
    there). A dataset with none of these gets no rows."""
    rows = runs[runs["dataset"] == dataset]
    ran = {int(f) for f in rows.loc[rows["experiment"].isin(spec.experiments), "fraction"]}
    if spec.by_fraction:
        return sorted(ran, reverse=True)
    own = [e for e in spec.experiments if e not in ("baseline", "joint-max")]
    own_ran = {int(f) for f in rows.loc[rows["experiment"].isin(own), "fraction"]}
    return sorted(own_ran or (ran & {100}), reverse=True)


def table_frame(spec: TableSpec, runs: pd.DataFrame, significance: pd.DataFrame,
                datasets: list[str] | None = None) -> pd.DataFrame:
    """The tidy long form of one table: dataset, fraction, model, experiment, metric, mean, std, n_seeds,
    paper, delta, significant_pairs, seed_pairs (values in %)."""
    datasets = datasets or sorted(runs["dataset"].unique())
    stats = {metric: seed_stats(runs, f"ner.{metric}") for metric in METRIC_LABELS}
    stats[FP_COLUMN] = seed_stats(runs, FP_COLUMN)
    marks = _significance_marks(significance, spec)
    rows = []
    for dataset in datasets:
        for fraction in table_fractions(spec, runs, dataset):
            for experiment in spec.experiments:
                significant, pairs = marks.get((dataset, experiment, fraction), (0, 0))
                for metric in [*METRIC_LABELS, FP_COLUMN]:
                    mean, std, n = cell(stats[metric], dataset, experiment, fraction)
                    if metric == FP_COLUMN:
                        paper = math.nan  # the paper gives one rate per dataset, model unspecified (see notes)
                    else:
                        value = paper_values.paper_value(spec.number, experiment, dataset, metric, fraction)
                        paper = math.nan if value is None else value
                    mean_pct, std_pct = mean * 100, std * 100
                    rows.append({
                        "table": spec.number, "dataset": dataset, "fraction": fraction,
                        "model": spec.row_names[experiment], "experiment": experiment, "metric": metric,
                        "mean": mean_pct, "std": std_pct, "n_seeds": n, "paper": paper,
                        "delta": mean_pct - paper,
                        "significant_pairs": significant if metric == "f1" else 0,
                        "seed_pairs": pairs if metric == "f1" else 0,
                    })
    return pd.DataFrame(rows)


def _number(value: float, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _ours(mean: float, std: float, latex: bool) -> str:
    if math.isnan(mean):
        return "–"
    if math.isnan(std):
        return f"{mean:.2f}"
    return f"{mean:.2f} $\\pm$ {std:.2f}" if latex else f"{mean:.2f} ± {std:.2f}"


def wide_frame(long: pd.DataFrame, spec: TableSpec, latex: bool = False) -> pd.DataFrame:
    """One display row per dataset (× fraction) × model: P, R, F1 as ours / paper / Δ, FP-sentence rate."""
    rows = []
    delta = "$\\Delta$" if latex else "Δ"
    dagger = "$^\\dagger$" if latex else " †"
    for (dataset, fraction, experiment), group in long.groupby(["dataset", "fraction", "experiment"], sort=False):
        by_metric = {row["metric"]: row for _, row in group.iterrows()}
        row: dict[str, str] = {"Dataset": dataset}
        if spec.by_fraction or set(long["fraction"]) != {100}:
            row["Size"] = f"{fraction}%"
        row["Model"] = str(group["model"].iloc[0])
        for metric, label in METRIC_LABELS.items():
            cell_row = by_metric[metric]
            ours = _ours(cell_row["mean"], cell_row["std"], latex)
            if metric == "f1" and cell_row["seed_pairs"] and cell_row["significant_pairs"] == cell_row["seed_pairs"]:
                ours += dagger
            row[label] = ours
            row[f"{label} paper"] = _number(cell_row["paper"])
            row[f"{delta}{label}"] = _number(cell_row["delta"], signed=True)
        fp = by_metric[FP_COLUMN]
        row["FP-sent. (\\%)" if latex else "FP-sent. (%)"] = _ours(fp["mean"], fp["std"], latex)
        row["seeds"] = str(int(by_metric["f1"]["n_seeds"]))
        rows.append(row)
    return pd.DataFrame(rows)


def dagger_note(spec: TableSpec, alpha: float) -> str:
    """What the table's † means (it depends on the table's claim, see the module docstring)."""
    test = f"(one-sided paired bootstrap, p < {alpha}) in every seed pair"
    if not spec.reference_better:
        return f"† = F1 gain over our {spec.reference} significant {test}."
    full = spec.row_names.get(spec.reference, spec.reference)
    return (f"† on an ablation's row = {full} ({spec.reference}, the full model) is significantly better in F1 than "
            f"that ablation {test}, i.e. removing that task (w/o Joint: joint training) hurts; the {full} row "
            f"itself carries no † here (its gain over the baseline is marked in Tables 2 and 3).")


def caption(spec: TableSpec, alpha: float) -> str:
    return (f"Table {spec.number}: {spec.title}. Ours = mean ± sample std over seeds (test set, entity-level "
            f"seqeval, %); paper = the paper's Table {spec.number}; Δ = our mean − paper. "
            f"{dagger_note(spec, alpha)} FP-sent. = share of "
            "entity-free test sentences in which the model predicts an entity (the paper reports 2.38 / 2.71 / "
            "2.87 % for BC2GM / BC5CDR-chem / NCBI-disease without naming the model).")


def render_table(spec: TableSpec, long: pd.DataFrame, out_prefix: str | Path, alpha: float = ALPHA) -> list[Path]:
    """Write `<prefix>.md`, `.tex` and `.csv`; returns the paths written."""
    prefix = Path(out_prefix)
    text = caption(spec, alpha)
    markdown = f"### {text.split(':', 1)[0]}\n\n{text.split(': ', 1)[1]}\n\n"
    markdown += wide_frame(long, spec).to_markdown(index=False, disable_numparse=True) + "\n"
    latex_caption = (text.replace("%", "\\%").replace("±", "$\\pm$").replace("†", "$^\\dagger$")
                     .replace("Δ", "$\\Delta$").replace("<", "$<$"))
    latex = wide_frame(long, spec, latex=True).to_latex(
        index=False, escape=False, caption=latex_caption, label=f"tab:table{spec.number}")
    # plain pdflatex: no Unicode dashes or minus signs
    latex = latex.replace("−", "$-$").replace("–", "--")
    paths = [prefix.with_suffix(".md"), prefix.with_suffix(".tex"), prefix.with_suffix(".csv")]
    write_text(paths[0], markdown)
    write_text(paths[1], latex)
    write_text(paths[2], long.to_csv(index=False, float_format="%.4f"))
    return paths


def fp_rate_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """The false-positive-sentence rate of every model that predicts NER, per dataset (full data), in %."""
    stats = seed_stats(runs[runs["fraction"] == 100], FP_COLUMN)
    rows = []
    for (dataset, experiment, _fraction), row in stats.iterrows():
        paper = paper_values.FALSE_POSITIVE_SENTENCE_RATE.get(str(dataset), math.nan)
        rows.append({"dataset": dataset, "experiment": experiment, "mean": row["mean"] * 100,
                     "std": row["std"] * 100, "n_seeds": int(row["n"]), "paper_unspecified_model": paper})
    return pd.DataFrame(rows)


def render_fp_rates(frame: pd.DataFrame, out_prefix: str | Path) -> list[Path]:
    prefix = Path(out_prefix)
    display = pd.DataFrame({
        "Dataset": frame["dataset"], "Experiment": frame["experiment"],
        "FP-sent. (%)": [_ours(m, s, False) for m, s in zip(frame["mean"], frame["std"])],
        "paper (model not named)": [_number(v) for v in frame["paper_unspecified_model"]],
        "seeds": frame["n_seeds"],
    })
    markdown = ("### Sentences without entities in which the model predicts an entity\n\n"
                "Share of the gold entity-free test sentences with at least one predicted entity "
                "(mean ± std over seeds, full training data).\n\n" + display.to_markdown(index=False, disable_numparse=True) + "\n")
    paths = [prefix.with_suffix(".md"), prefix.with_suffix(".csv")]
    write_text(paths[0], markdown)
    write_text(paths[1], frame.to_csv(index=False, float_format="%.4f"))
    return paths


def write_tables(runs: list[FinishedRun], out_dir: str | Path, *, samples: int, seed: int, alpha: float) -> pd.DataFrame:
    """`significance.csv`, Tables 2-4 (`table{2,3,4}.{md,tex,csv}`) and the false-positive-sentence rates
    (`fp_rates.{md,csv}`) of `runs` into `out_dir`; returns the significance frame (one row per seed pair)."""
    from mtbioner.report.aggregate import runs_frame

    out = Path(out_dir)
    frame = runs_frame(runs)
    significance = significance_frame(runs, samples=samples, seed=seed, alpha=alpha)
    write_text(out / "significance.csv", significance.to_csv(index=False, float_format="%.6f"))
    for number, spec in TABLE_SPECS.items():
        render_table(spec, table_frame(spec, frame, significance), out / f"table{number}", alpha=alpha)
    render_fp_rates(fp_rate_frame(frame), out / "fp_rates")
    return significance
