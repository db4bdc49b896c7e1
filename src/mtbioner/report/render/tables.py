"""Tables 2-4 of the paper, reproduced: Markdown, LaTeX and CSV.

Every cell is our mean ± sample std over seeds (in %, as the paper prints), beside the paper's value and
the delta (our mean − paper). The paper's Tables 2 and 4 are full-data results, so at any other training
fraction their paper column (and Δ) is left empty and the caption says so: like is compared with like (the
paper's low-resource numbers are Table 3's). Only plain runs are tabulated (no variant: a named grid block
such as a training-budget axis enters the report through the verdicts, `mtbioner.report.stats.verdict_table`).

A † on our F1 marks a difference that the one-sided paired bootstrap finds significant (p < alpha) in every
seed pair — per-seed-pair detail, not a verdict (the verdicts count seed and sentence variance together:
verdicts.md); what it is tested against is the table's claim:
- Tables 2 and 3: a gain of the model over our baseline (same dataset, fraction and seed);
- Table 4 (ablations): joint-max, the full model, better than the ablation on whose row the † sits, i.e.
  removing that task (or joint training) hurts; the joint-max row itself carries no †.
The per-pair p-values of both kinds are in `significance.csv` (column `reference`). The CSV of a table is the
tidy long form (one row per dataset × model × fraction × metric) for anyone re-plotting the numbers.

fp_rates: the false-positive-sentence rate of every model per dataset and fraction, and (fp_mcnemar.csv) a
paired test per sentence of baseline against joint-max on the gold entity-free test sentences: the exact
McNemar test per seed, and pooled over seeds with the sentence as the unit (per sentence, the number of
seeds in which the baseline predicts an entity minus the number in which joint-max does; exact two-sided
sign test over the sentences where that is not 0 — McNemar itself with one seed). Pooling by sentence, not
by summing the seeds' tables, keeps the unit independent: the seeds share the test sentences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from mtbioner.atomicio import write_text
from mtbioner.errors import MtbionerError
from mtbioner.plan.grid import ablations
from mtbioner.plan.targets import TABLE_EXPERIMENTS
from mtbioner.report import paper_values
from mtbioner.report.stats.aggregate import cell, plain, seed_stats
from mtbioner.report.defaults import ALPHA, BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED
from mtbioner.run.directory import FinishedRun
from mtbioner.tasks import NER, TASKS, get as get_task
from mtbioner.report.stats.significance import COLUMNS, compare_to_reference

#: The training fraction of the paper's Tables 2 and 4 (and of its false-positive-sentence rates).
FULL = 100

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
                 TABLE_EXPERIMENTS[2], paper_values.TABLE2_ROW_NAMES, False),
    3: TableSpec(3, ("Impact of the training-set size (test set unchanged): baseline vs joint-max; the paper's "
                    "baseline column here is its SOTA (Lee et al. 2020), not its own re-run SOTA*"),
                 TABLE_EXPERIMENTS[3], paper_values.TABLE3_ROW_NAMES, True),
    4: TableSpec(4, "Ablations: joint-max without one auxiliary task, and with alternating training (w/o Joint)",
                 TABLE_EXPERIMENTS[4], paper_values.TABLE4_ROW_NAMES, False,
                 reference="joint-max", reference_better=True),
}


#: Table 4's last row: alternating training (w/o Joint); the ablations of single tasks stand before it.
ALTERNATING = "alternating"


def table_specs(experiments_run: set[str]) -> dict[int, TableSpec]:
    """TABLE_SPECS for the runs at hand: Table 4 gains a row `w/o <task>` for every ablation that ran beyond
    the paper's three (a task a preset adds to grid.tasks, e.g. tCLS), before w/o Joint; it has no paper value."""
    paper_rows = TABLE_SPECS[4].experiments
    added = {name: task for name, task in ablations(TASKS).items() if name in experiments_run and name not in paper_rows}
    if not added:
        return TABLE_SPECS
    rows = (*[e for e in paper_rows if e != ALTERNATING], *sorted(added), *[e for e in paper_rows if e == ALTERNATING])
    names = {**TABLE_SPECS[4].row_names, **{name: f"w/o {get_task(task).display}" for name, task in added.items()}}
    return {**TABLE_SPECS, 4: replace(TABLE_SPECS[4], experiments=rows, row_names=names)}


def significance_frame(runs: list[FinishedRun], samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED,
                       alpha: float = ALPHA) -> pd.DataFrame:
    """Every paired-bootstrap comparison of the tables, one row per seed pair (significance.COLUMNS): each
    model of Tables 2-4 against the baseline (the † of Tables 2, 3), then joint-max against each ablation
    (the † of Table 4)."""
    tests: dict[tuple[str, bool], set[str]] = {("baseline", False): set()}
    for spec in table_specs({run.experiment for run in runs}).values():
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
    paper, delta, significant_pairs, seed_pairs (values in %). Plain runs only; the paper column of Tables 2
    and 4 only at full data (module docstring)."""
    runs = plain(runs)
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
                    elif not spec.by_fraction and fraction != FULL:
                        paper = math.nan  # the paper's value is at full data: not beside a subsample's run
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
    if long.empty:
        return pd.DataFrame()
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
    test = (f"(one-sided paired bootstrap, p < {alpha}) in every seed pair — detail per seed pair, not a verdict "
            "(verdicts.md counts seeds and sentences together)")
    if not spec.reference_better:
        return f"† = F1 gain over our {spec.reference} significant {test}."
    full = spec.row_names.get(spec.reference, spec.reference)
    return (f"† on an ablation's row = {full} ({spec.reference}, the full model) is significantly better in F1 than "
            f"that ablation {test}, i.e. removing that task (w/o Joint: joint training) hurts; the {full} row "
            f"itself carries no † here (its gain over the baseline is marked in Tables 2 and 3).")


def paper_column_note(spec: TableSpec, fractions: set[int]) -> str:
    """Why the paper column is empty at some sizes (Tables 2 and 4 off full data), or nothing."""
    other = sorted((f for f in fractions if f != FULL), reverse=True)
    if spec.by_fraction or not other:
        return ""
    sizes = ", ".join(f"{f}%" for f in other)
    return (f"The paper's Table {spec.number} is at full training data, so at {sizes} the paper and Δ columns "
            "are left empty (the paper's low-resource baseline and joint-max are in Table 3). ")


def caption(spec: TableSpec, alpha: float, fractions: set[int] | None = None) -> str:
    return (f"Table {spec.number}: {spec.title}. Ours = mean ± sample std over seeds (test set, entity-level "
            f"seqeval, %); paper = the paper's Table {spec.number}; Δ = our mean − paper. "
            f"{paper_column_note(spec, fractions or set())}"
            f"{dagger_note(spec, alpha)} FP-sent. = share of "
            "entity-free test sentences in which the model predicts an entity (the paper reports 2.38 / 2.71 / "
            "2.87 % for BC2GM / BC5CDR-chem / NCBI-disease without naming the model).")


def render_table(spec: TableSpec, long: pd.DataFrame, out_prefix: str | Path, alpha: float = ALPHA) -> list[Path]:
    """Write `<prefix>.md`, `.tex` and `.csv`; returns the paths written."""
    prefix = Path(out_prefix)
    text = caption(spec, alpha, {int(f) for f in long["fraction"]} if len(long) else set())
    markdown = f"### {text.split(':', 1)[0]}\n\n{text.split(': ', 1)[1]}\n\n"
    wide = wide_frame(long, spec)
    if wide.empty:  # e.g. a grid without this table's models at a size it shows
        markdown += "*None of this table's models ran at a size it shows (full data, or where its own models ran).*\n"
    else:
        markdown += wide.to_markdown(index=False, disable_numparse=True) + "\n"
    latex_caption = (text.replace("%", "\\%").replace("±", "$\\pm$").replace("†", "$^\\dagger$")
                     .replace("Δ", "$\\Delta$").replace("<", "$<$"))
    wide_latex = wide_frame(long, spec, latex=True)
    if wide_latex.empty:
        wide_latex = pd.DataFrame({"Dataset": [], "Model": []})
    latex = wide_latex.to_latex(index=False, escape=False, caption=latex_caption, label=f"tab:table{spec.number}")
    # plain pdflatex: no Unicode dashes or minus signs
    latex = latex.replace("−", "$-$").replace("–", "--")
    paths = [prefix.with_suffix(".md"), prefix.with_suffix(".tex"), prefix.with_suffix(".csv")]
    write_text(paths[0], markdown)
    write_text(paths[1], latex)
    write_text(paths[2], long.to_csv(index=False, float_format="%.4f"))
    return paths


def fp_rate_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """The false-positive-sentence rate of every model that predicts NER, per dataset and fraction (plain
    runs), in %; the paper's rate (model not named) beside the full-data rows only."""
    stats = seed_stats(plain(runs), FP_COLUMN)
    rows = []
    for (dataset, experiment, fraction), row in stats.iterrows():
        paper = (paper_values.FALSE_POSITIVE_SENTENCE_RATE.get(str(dataset), math.nan) if int(fraction) == FULL
                 else math.nan)
        rows.append({"dataset": dataset, "fraction": int(fraction), "experiment": experiment,
                     "mean": row["mean"] * 100, "std": row["std"] * 100, "n_seeds": int(row["n"]),
                     "paper_unspecified_model": paper})
    frame = pd.DataFrame(rows, columns=["dataset", "fraction", "experiment", "mean", "std", "n_seeds",
                                        "paper_unspecified_model"])
    return frame.sort_values(["dataset", "fraction", "experiment"], ascending=[True, False, True], ignore_index=True)


#: Columns of fp_mcnemar.csv: per dataset, fraction and seed (or `pooled`), the gold entity-free test
#: sentences, those where only the baseline predicts an entity, only joint-max does, and the exact p.
MCNEMAR_COLUMNS = ["dataset", "fraction", "seed", "entity_free_sentences", "fp_baseline_only", "fp_joint_max_only",
                   "p_value"]


def fp_mcnemar_frame(runs: list[FinishedRun], a: str = "baseline", b: str = "joint-max") -> pd.DataFrame:
    """Paired tests of the false-positive sentences of `a` against `b` (plain runs of one dataset, fraction
    and seed), per seed and pooled over the seeds by sentence (module docstring)."""
    import numpy as np

    from mtbioner.report.stats.predictions import check_same_test_set, entity_counts, read_predictions
    from mtbioner.report.stats.verdicts import false_positive_test, mcnemar

    cells: dict[tuple[str, int], dict[int, dict[str, FinishedRun]]] = {}
    for run in runs:
        if not run.variant and run.experiment in (a, b) and NER in run.tasks:
            cells.setdefault((run.dataset, run.fraction), {}).setdefault(run.seed, {})[run.experiment] = run
    rows = []
    for (dataset, fraction), by_seed in sorted(cells.items(), key=lambda item: (item[0][0], -item[0][1])):
        pairs = {seed: pair for seed, pair in sorted(by_seed.items()) if len(pair) == 2}
        wrong_a, wrong_b = [], []  # per seed: FP on each gold entity-free sentence
        for seed, pair in pairs.items():
            sentences_a, sentences_b = (read_predictions(pair[x].files.predictions) for x in (a, b))
            check_same_test_set(sentences_a, sentences_b, str(pair[a].files.predictions), str(pair[b].files.predictions))
            counts_a, counts_b = entity_counts(sentences_a), entity_counts(sentences_b)
            result = false_positive_test(counts_a, counts_b)
            rows.append({"dataset": dataset, "fraction": fraction, "seed": str(seed),
                         "entity_free_sentences": result.n, "fp_baseline_only": result.b_only,
                         "fp_joint_max_only": result.a_only, "p_value": result.p_value})
            free = counts_a[:, 0] + counts_a[:, 2] == 0
            wrong_a.append(counts_a[free, 1] > 0)
            wrong_b.append(counts_b[free, 1] > 0)
        if len(pairs) > 1:
            if len({len(w) for w in wrong_a}) != 1:
                raise MtbionerError(f"{dataset} {fraction}%: the seeds' runs are scored on different test sets")
            # per sentence: seeds in which a errs minus seeds in which b errs; a "wins" where it errs less
            difference = np.sum(wrong_a, axis=0).astype(int) - np.sum(wrong_b, axis=0).astype(int)
            pooled = mcnemar(difference < 0, difference > 0)
            rows.append({"dataset": dataset, "fraction": fraction, "seed": "pooled",
                         "entity_free_sentences": pooled.n, "fp_baseline_only": pooled.b_only,
                         "fp_joint_max_only": pooled.a_only, "p_value": pooled.p_value})
    return pd.DataFrame(rows, columns=MCNEMAR_COLUMNS)


def render_fp_rates(frame: pd.DataFrame, out_prefix: str | Path, mcnemar: pd.DataFrame | None = None) -> list[Path]:
    """`<prefix>.md` (rates, and the paired tests when given) and `<prefix>.csv` (the rates)."""
    prefix = Path(out_prefix)
    display = pd.DataFrame({
        "Dataset": frame["dataset"], "Size": [f"{f}%" for f in frame["fraction"]], "Experiment": frame["experiment"],
        "FP-sent. (%)": [_ours(m, s, False) for m, s in zip(frame["mean"], frame["std"])],
        "paper (model not named, full data)": [_number(v) for v in frame["paper_unspecified_model"]],
        "seeds": frame["n_seeds"],
    })
    markdown = ("### Sentences without entities in which the model predicts an entity\n\n"
                "Share of the gold entity-free test sentences with at least one predicted entity "
                "(mean ± std over seeds). The paper's rates are for full training data and do not name the "
                "model, so they stand beside the 100 % rows only.\n\n"
                + display.to_markdown(index=False, disable_numparse=True) + "\n")
    if mcnemar is not None and len(mcnemar):
        tests = pd.DataFrame({
            "Dataset": mcnemar["dataset"], "Size": [f"{f}%" for f in mcnemar["fraction"]], "seed": mcnemar["seed"],
            "entity-free sentences": mcnemar["entity_free_sentences"],
            "only baseline predicts an entity": mcnemar["fp_baseline_only"],
            "only joint-max does": mcnemar["fp_joint_max_only"],
            "p (two-sided, exact)": [f"{p:.4f}" for p in mcnemar["p_value"]],
        })
        markdown += ("\nPaired test per sentence, baseline vs joint-max (fp_mcnemar.csv): exact McNemar on the "
                     "discordant entity-free sentences per seed; `pooled` = over the seeds with the sentence as "
                     "the unit (per sentence, seeds in which the baseline predicts an entity minus seeds in which "
                     "joint-max does; exact sign test over the sentences where it is not 0).\n\n"
                     + tests.to_markdown(index=False, disable_numparse=True) + "\n")
    paths = [prefix.with_suffix(".md"), prefix.with_suffix(".csv")]
    write_text(paths[0], markdown)
    write_text(paths[1], frame.to_csv(index=False, float_format="%.4f"))
    return paths


def write_tables(runs: list[FinishedRun], out_dir: str | Path, *, samples: int, seed: int, alpha: float) -> pd.DataFrame:
    """`significance.csv`, Tables 2-4 (`table{2,3,4}.{md,tex,csv}`), the false-positive-sentence rates
    (`fp_rates.{md,csv}`) and their paired tests (`fp_mcnemar.csv`) of the plain runs among `runs` into
    `out_dir`; returns the significance frame (one row per seed pair)."""
    from mtbioner.report.stats.aggregate import runs_frame

    out = Path(out_dir)
    runs = [run for run in runs if not run.variant]
    if not runs:
        raise MtbionerError("Tables 2-4 need plain runs (no variant); every run given is a variant's")
    frame = runs_frame(runs)
    significance = significance_frame(runs, samples=samples, seed=seed, alpha=alpha)
    write_text(out / "significance.csv", significance.to_csv(index=False, float_format="%.6f"))
    for number, spec in table_specs(set(frame["experiment"])).items():
        render_table(spec, table_frame(spec, frame, significance), out / f"table{number}", alpha=alpha)
    mcnemar = fp_mcnemar_frame(runs)
    write_text(out / "fp_mcnemar.csv", mcnemar.to_csv(index=False, float_format="%.6g"))
    render_fp_rates(fp_rate_frame(frame), out / "fp_rates", mcnemar)
    return significance
