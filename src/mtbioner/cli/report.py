"""`mtbioner report ...`: the paper's tables, figures, TaskEmb and results/<name>/report.md from finished runs.

Every verb takes the runs as arguments (run directories or their metrics.json files, which is what the
Snakemake rules pass); each run identifies itself through its config.json, so no path layout is assumed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mtbioner.cli import app
from mtbioner.cli.options import param_option
from mtbioner.report.defaults import (ALPHA, BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED, CASESTUDY_LOSSES, CASESTUDY_WINS,
                                      SENTENCE_METRIC, TASKEMB_BATCH_SIZE, TASKEMB_MAX_EXAMPLES,
                                      TSNE_PERPLEXITY, VERDICT_SAMPLES)

report_app = typer.Typer(help="Tables 2-5, Figures 4-6, TaskEmb and the report page.", no_args_is_help=True)
app.add_typer(report_app, name="report")

RunsArg = Annotated[list[Path], typer.Argument(help="run directories or their metrics.json files")]
SentenceMetric = Annotated[str, param_option("report", "sentence_metric")]


@report_app.command("tables")
def tables_cmd(
    runs: RunsArg,
    out_dir: Annotated[Path, typer.Option(help="folder for table{2,3,4}.*, fp_rates.*, significance.csv")],
    samples: Annotated[int, param_option("report", "bootstrap_samples")] = BOOTSTRAP_SAMPLES,
    alpha: Annotated[float, param_option("report", "alpha")] = ALPHA,
    seed: Annotated[int, param_option("report", "bootstrap_seed")] = BOOTSTRAP_SEED,
) -> None:
    """Tables 2, 3, 4 (Markdown, LaTeX, CSV) with seed statistics, the paper's values, deltas and the
    paired-bootstrap significance (Tables 2, 3: gain over the baseline; Table 4: joint-max better than each
    ablation); plus the false-positive-sentence rates."""
    from mtbioner.run.directory import load_runs
    from mtbioner.report.render.tables import write_tables

    significance = write_tables(load_runs(runs), out_dir, samples=samples, seed=seed, alpha=alpha)
    typer.echo(f"wrote Tables 2-4, fp_rates and significance.csv ({len(significance)} seed pairs) to {out_dir}")


def _claims_from_json(claims_json: str) -> list:
    import json

    from mtbioner.errors import MtbionerError
    from mtbioner.plan.claims import parse_claims

    try:
        entries = json.loads(claims_json)
    except json.JSONDecodeError as error:
        raise MtbionerError(f"--claims-json: not valid JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(entries, list):
        raise MtbionerError("--claims-json: expected a JSON list of claims")
    return parse_claims(entries, origin="--claims-json")


def _echo_verdicts(out_prefix: Path, frame) -> None:
    typer.echo(f"wrote {out_prefix}.csv/.md ({len(frame)} claims: "
               + ", ".join(f"{name}: {verdict}" for name, verdict in zip(frame["claim"], frame["verdict"])) + ")")


@report_app.command("verdicts")
def verdicts_cmd(
    runs: RunsArg,
    claims_json: Annotated[str, typer.Option(help="report.claims as a JSON list (what the workflow passes)")],
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.csv and <prefix>.md")],
    samples: Annotated[int, param_option("report", "verdict_samples")] = VERDICT_SAMPLES,
    seed: Annotated[int, param_option("report", "bootstrap_seed")] = BOOTSTRAP_SEED,
    counts_out: Annotated[Optional[Path], typer.Option(
        help="also write the per-sentence TP/FP/FN counts the verdicts come from (.csv.gz) for `report rejudge`")] = None,
) -> None:
    """The verdict on each pre-registered claim: Δ over seeds with an interval counting seeds and test
    sentences (read at the family's Bonferroni level), two-sided p with Holm over the family, MDE, the
    pre-registered rule, and the false-positive-sentence rates compared the same way."""
    from mtbioner.report.stats.verdict_table import write_verdicts
    from mtbioner.run.directory import load_runs

    frame = write_verdicts(load_runs(runs), _claims_from_json(claims_json), out_prefix, samples=samples, seed=seed,
                           counts_out=counts_out)
    _echo_verdicts(out_prefix, frame)


@report_app.command("rejudge")
def rejudge_cmd(
    counts: Annotated[Path, typer.Argument(help="a published sentence_counts.csv.gz (per system, seed, sentence)")],
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.csv and <prefix>.md")],
    claims_from: Annotated[Optional[Path], typer.Option(
        help="a verdicts.csv whose claims to judge again (its name, cells, paper Δ, direction and family)")] = None,
    claims_json: Annotated[Optional[str], typer.Option(help="or the claims as a JSON list (report.claims)")] = None,
    samples: Annotated[int, param_option("report", "verdict_samples")] = VERDICT_SAMPLES,
    seed: Annotated[int, param_option("report", "bootstrap_seed")] = BOOTSTRAP_SEED,
) -> None:
    """Recompute verdicts.csv/.md from published per-sentence counts, without the runs: check a finding, or
    judge it by another rule or another family."""
    from mtbioner.errors import MtbionerError
    from mtbioner.report.stats.verdict_table import claims_of_verdicts, read_counts, write_verdicts_from_counts

    if (claims_from is None) == (claims_json is None):
        raise MtbionerError("give the claims by exactly one of --claims-from VERDICTS.csv and --claims-json")
    claims = claims_of_verdicts(claims_from) if claims_from is not None else _claims_from_json(claims_json)
    frame = write_verdicts_from_counts(read_counts(counts), claims, out_prefix, samples=samples, seed=seed)
    _echo_verdicts(out_prefix, frame)


@report_app.command("metrics")
def metrics_cmd(
    runs: RunsArg,
    out: Annotated[Path, typer.Option(help="JSON file for `dvc metrics` (e.g. results/paper/metrics/summary.json)")],
) -> None:
    """Aggregated NER metrics per dataset × experiment × fraction (mean and std over seeds) as JSON."""
    from mtbioner.run.directory import load_runs
    from mtbioner.report.render.summary import write_metrics_summary

    write_metrics_summary(load_runs(runs), out)
    typer.echo(f"wrote {out}")


@report_app.command("casestudy")
def casestudy_cmd(
    runs: RunsArg,
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.html, .tex, .md, .csv")],
    wins: Annotated[int, param_option("report", "casestudy_wins")] = CASESTUDY_WINS,
    losses: Annotated[int, param_option("report", "casestudy_losses")] = CASESTUDY_LOSSES,
) -> None:
    """Table 5: sentences where the baseline and joint-max disagree, coloured correct / wrong."""
    from mtbioner.report.render.casestudy import write_table5
    from mtbioner.run.directory import load_runs

    cases = write_table5(load_runs(runs), out_prefix, wins=wins, losses=losses)
    typer.echo(f"wrote {out_prefix}.{{html,tex,md,csv}} ({cases} cases)")


@report_app.command("figure4")
def figure4_cmd(
    curves: Annotated[list[Path], typer.Argument(help="the curve files `mtbioner curves` wrote (<dataset>.csv)")],
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.png and .pdf")],
    sentence_metric: SentenceMetric = SENTENCE_METRIC,
    run: Annotated[Optional[list[Path]], typer.Option(
        help="the runs the curves come from (repeat): each panel then names their label, fraction and seeds")] = None,
) -> None:
    """Figure 4: per-epoch test score of each task for joint-max, one panel per dataset (the epochs shown and,
    with --run, the runs drawn are in each panel's title)."""
    from mtbioner.report.stats.curves import read_curve
    from mtbioner.report.render.figures import describe_curve_runs, figure4_from_curves
    from mtbioner.run.directory import load_runs

    described = describe_curve_runs(load_runs(run)) if run else None
    # results/metrics/curves/<dataset>.csv, as rule epoch_curves names them: the panel is the file's stem
    figure4_from_curves({path.stem: read_curve(path) for path in curves}, out_prefix, sentence_metric=sentence_metric,
                        described=described)
    typer.echo(f"wrote {out_prefix}.png/.pdf")


@report_app.command("figure5")
def figure5_cmd(
    runs: RunsArg,
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.png, .pdf and <prefix>_gains.csv")],
    sentence_metric: SentenceMetric = SENTENCE_METRIC,
) -> None:
    """Figure 5: per dataset, main-task score with each secondary task minus its single-task score."""
    from mtbioner.report.render.figures import write_figure5
    from mtbioner.run.directory import load_runs

    write_figure5(load_runs(runs), out_prefix, sentence_metric=sentence_metric)
    typer.echo(f"wrote {out_prefix}.png/.pdf and {out_prefix}_gains.csv")


@report_app.command("taskemb")
def taskemb_cmd(
    run: Annotated[Path, typer.Argument(help="a single-task run directory (or its metrics.json)")],
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.npy (embedding) and <prefix>.json (metadata)")],
    task: Annotated[Optional[str], typer.Option(help="task to embed; default: the run's only/main task")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="SPEC section 5's batch size by default")] = TASKEMB_BATCH_SIZE,
    max_examples: Annotated[Optional[int], param_option("report", "taskemb_max_examples")] = TASKEMB_MAX_EXAMPLES,
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, ...; default: cuda if available")] = None,
    fisher_out: Annotated[Optional[Path], typer.Option(help="also write the diagonal Fisher (.safetensors)")] = None,
) -> None:
    """TaskEmb (SPEC section 5) of a trained single-task model over the training data it was trained on."""
    from mtbioner.run.directory import load_run
    from mtbioner.report.embedding.taskemb import write_taskemb

    meta = write_taskemb(load_run(run), out_prefix, task=task, batch_size=batch_size, max_examples=max_examples,
                         device=device, fisher_out=fisher_out)
    typer.echo(f"wrote {out_prefix}.npy ({meta['dimensions']} values, {meta['n_examples']} examples, "
               f"{meta['seconds']} s on {meta['device']})")


@report_app.command("figure6")
def figure6_cmd(
    embeddings: Annotated[list[Path], typer.Argument(help="TaskEmb .json files (the .npy lies beside each)")],
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.png and .pdf")],
    similarity_out: Annotated[Path, typer.Option(help="cosine-similarity matrix as CSV")],
    perplexity: Annotated[Optional[float], param_option("report", "tsne_perplexity")] = TSNE_PERPLEXITY,
    seed: Annotated[int, typer.Option(help="t-SNE random state")] = 0,
) -> None:
    """Figure 6: the cosine-similarity matrix of the task embeddings and, from 8 embeddings on, their t-SNE
    (with its 2-D coordinates)."""
    import math

    from mtbioner.report.render.figures import MIN_TSNE_POINTS, write_figure6

    count, chosen = write_figure6(embeddings, out_prefix, similarity_out, perplexity=perplexity, seed=seed)
    tsne = (f"no t-SNE below {MIN_TSNE_POINTS} embeddings" if math.isnan(chosen) else f"t-SNE perplexity {chosen:g}")
    typer.echo(f"wrote {out_prefix}.png/.pdf and {similarity_out} ({count} embeddings, {tsne})")


@report_app.command("page")
def page_cmd(
    runs: RunsArg,
    out: Annotated[Path, typer.Option(help="the report page, e.g. results/paper/report.md")],
    tables_dir: Annotated[Path, typer.Option(help="folder the `tables` and `casestudy` verbs wrote")],
    figures_dir: Annotated[Path, typer.Option(help="folder of figure4/5/6")],
    taskemb_dir: Annotated[Optional[Path], typer.Option(help="folder with similarity.csv")] = None,
    configfile: Annotated[Optional[list[str]], typer.Option(
        help="the parameter files the workflow merged (stated on the page)")] = None,
    note: Annotated[Optional[str], typer.Option(help="a sentence for the top of the page (report.note)")] = None,
) -> None:
    """results/<name>/report.md: configuration, all tables and figures, and a summary generated from the numbers."""
    from mtbioner.report.render.page import write_report
    from mtbioner.run.directory import load_runs

    write_report(load_runs(runs), out, tables_dir, figures_dir, taskemb_dir, configfile, note=note)
    typer.echo(f"wrote {out}")


@app.command("curves")
def curves(
    runs: Annotated[list[Path], typer.Argument(help="the seeds' run directories (or metrics.json) of one cell")],
    out: Annotated[Path, typer.Option(help="CSV: epoch and per-task test scores, seed mean")],
) -> None:
    """Per-epoch test scores of one dataset/experiment/fraction, averaged over seeds (dvc plots data)."""
    from mtbioner.report.stats.curves import write_curves

    epochs = write_curves(runs, out)
    typer.echo(f"wrote {out} ({epochs} epochs)")
