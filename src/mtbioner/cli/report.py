"""`mtbioner report ...`: the paper's tables, figures, TaskEmb and results/report.md from finished runs.

Every verb takes the runs as arguments (run directories or their metrics.json files, which is what the
Snakemake rules pass); each run identifies itself through its config.json, so no path layout is assumed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from mtbioner.cli import app
from mtbioner.report.defaults import (ALPHA, BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED, CASESTUDY_LOSSES, CASESTUDY_WINS,
                                      SENTENCE_METRIC, TASKEMB_MAX_EXAMPLES, TSNE_PERPLEXITY)

report_app = typer.Typer(help="Tables 2-5, Figures 4-6, TaskEmb and the report page.", no_args_is_help=True)
app.add_typer(report_app, name="report")

RunsArg = Annotated[list[Path], typer.Argument(help="run directories or their metrics.json files")]
SentenceMetric = Annotated[str, typer.Option(help="score of bCLS/mCLS in figures: macro_f1 or accuracy")]


@report_app.command("tables")
def tables_cmd(
    runs: RunsArg,
    out_dir: Annotated[Path, typer.Option(help="folder for table{2,3,4}.*, fp_rates.*, significance.csv")],
    samples: Annotated[int, typer.Option(min=100, help="bootstrap resamples per seed pair")] = BOOTSTRAP_SAMPLES,
    alpha: Annotated[float, typer.Option(min=0.0, max=1.0, help="significance level of the marks")] = ALPHA,
    seed: Annotated[int, typer.Option(help="random seed of the bootstrap")] = BOOTSTRAP_SEED,
) -> None:
    """Tables 2, 3, 4 (Markdown, LaTeX, CSV) with seed statistics, the paper's values, deltas and the
    paired-bootstrap significance (Tables 2, 3: gain over the baseline; Table 4: joint-max better than each
    ablation); plus the false-positive-sentence rates."""
    from mtbioner.atomicio import write_text
    from mtbioner.report.aggregate import runs_frame
    from mtbioner.report.runs import load_runs
    from mtbioner.report.tables import (TABLE_SPECS, fp_rate_frame, render_fp_rates, render_table,
                                        significance_frame, table_frame)

    records = load_runs(runs)
    frame = runs_frame(records)
    significance = significance_frame(records, samples=samples, seed=seed, alpha=alpha)
    write_text(out_dir / "significance.csv", significance.to_csv(index=False, float_format="%.6f"))
    for number, spec in TABLE_SPECS.items():
        render_table(spec, table_frame(spec, frame, significance), out_dir / f"table{number}", alpha=alpha)
    render_fp_rates(fp_rate_frame(frame), out_dir / "fp_rates")
    typer.echo(f"wrote Tables 2-4, fp_rates and significance.csv ({len(significance)} seed pairs) to {out_dir}")


@report_app.command("metrics")
def metrics_cmd(
    runs: RunsArg,
    out: Annotated[Path, typer.Option(help="JSON file for `dvc metrics` (e.g. results/metrics/summary.json)")],
) -> None:
    """Aggregated NER metrics per dataset × experiment × fraction (mean and std over seeds) as JSON."""
    from mtbioner.atomicio import write_json
    from mtbioner.report.aggregate import runs_frame
    from mtbioner.report.runs import load_runs
    from mtbioner.report.summary import metrics_summary

    write_json(out, metrics_summary(runs_frame(load_runs(runs))))
    typer.echo(f"wrote {out}")


@report_app.command("casestudy")
def casestudy_cmd(
    runs: RunsArg,
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.html, .tex, .md, .csv")],
    wins: Annotated[int, typer.Option(min=0, help="sentences per dataset where joint-max is right")] = CASESTUDY_WINS,
    losses: Annotated[int, typer.Option(min=0, help="sentences per dataset where the baseline is right")] = (
        CASESTUDY_LOSSES),
) -> None:
    """Table 5: sentences where the baseline and joint-max disagree, coloured correct / wrong."""
    from mtbioner.report.casestudy import build_table5, render_table5
    from mtbioner.report.runs import load_runs

    records = load_runs(runs)
    chosen, summary = build_table5(records, sorted({r.dataset for r in records}), wins=wins, losses=losses)
    render_table5(chosen, summary, out_prefix)
    typer.echo(f"wrote {out_prefix}.{{html,tex,md,csv}} ({sum(len(c) for c in chosen.values())} cases)")


@report_app.command("figure4")
def figure4_cmd(
    inputs: Annotated[list[Path], typer.Argument(
        help="the curve files `mtbioner curves` wrote (<dataset>.csv), or run directories / their metrics.json")],
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.png and .pdf")],
    sentence_metric: SentenceMetric = SENTENCE_METRIC,
) -> None:
    """Figure 4: per-epoch test score of each task for joint-max, one panel per dataset."""
    from mtbioner.report.curves import read_curve
    from mtbioner.report.figures import figure4, figure4_from_curves
    from mtbioner.report.runs import load_runs

    curve_files = [path for path in inputs if path.suffix == ".csv"]
    if curve_files and len(curve_files) < len(inputs):
        from mtbioner.errors import MtbionerError

        raise MtbionerError("figure4: give either curve files (.csv) or runs, not both")
    if curve_files:  # results/metrics/curves/<dataset>.csv, as rule epoch_curves names them
        figure4_from_curves({path.stem: read_curve(path) for path in curve_files}, out_prefix,
                            sentence_metric=sentence_metric)
    else:
        figure4(load_runs(inputs), out_prefix, sentence_metric=sentence_metric)
    typer.echo(f"wrote {out_prefix}.png/.pdf")


@report_app.command("figure5")
def figure5_cmd(
    runs: RunsArg,
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.png, .pdf and <prefix>_gains.csv")],
    sentence_metric: SentenceMetric = SENTENCE_METRIC,
) -> None:
    """Figure 5: per dataset, main-task score with each secondary task minus its single-task score."""
    from mtbioner.atomicio import write_text
    from mtbioner.report.figures import figure5, pairwise_gains
    from mtbioner.report.runs import load_runs

    gains = pairwise_gains(load_runs(runs), sentence_metric=sentence_metric)
    write_text(Path(f"{out_prefix}_gains.csv"), gains.to_csv(index=False, float_format="%.4f"))
    figure5(gains, out_prefix, sentence_metric=sentence_metric)
    typer.echo(f"wrote {out_prefix}.png/.pdf and {out_prefix}_gains.csv")


@report_app.command("taskemb")
def taskemb_cmd(
    run: Annotated[Path, typer.Argument(help="a single-task run directory (or its metrics.json)")],
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.npy (embedding) and <prefix>.json (metadata)")],
    task: Annotated[Optional[str], typer.Option(help="task to embed; default: the run's only/main task")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="SPEC: 32")] = 32,
    max_examples: Annotated[Optional[int], typer.Option(min=1, help="use a prefix of the training data")] = (
        TASKEMB_MAX_EXAMPLES),
    device: Annotated[Optional[str], typer.Option(help="cpu, cuda, ...; default: cuda if available")] = None,
    fisher_out: Annotated[Optional[Path], typer.Option(help="also write the diagonal Fisher (.safetensors)")] = None,
) -> None:
    """TaskEmb (SPEC section 5) of a trained single-task model over the training data it was trained on."""
    import numpy as np

    from mtbioner.atomicio import atomic_write, write_json
    from mtbioner.report.runs import load_run
    from mtbioner.taskemb import embed_run

    record = load_run(run)
    config = record.config
    chosen_task = task or config.get("main_task") or config["tasks"][0]
    embedding, meta = embed_run(str(record.run_dir / "model"), config["train_file"], config["labels_file"],
                                chosen_task, int(config.get("max_length", 256)), batch_size=batch_size,
                                max_examples=max_examples, device=device, fisher=fisher_out is not None)
    meta.update({"dataset": record.dataset, "experiment": record.experiment, "seed": record.seed,
                 "run_dir": str(record.run_dir)})
    with atomic_write(Path(f"{out_prefix}.npy"), "wb") as handle:
        np.save(handle, embedding.vector.astype(np.float32))
    write_json(Path(f"{out_prefix}.json"), meta)
    if fisher_out is not None and embedding.fisher is not None:
        import torch
        from safetensors.torch import save_file

        fisher_out.parent.mkdir(parents=True, exist_ok=True)
        tmp = fisher_out.with_name(f".tmp-{fisher_out.name}")
        save_file({k: torch.from_numpy(v) for k, v in embedding.fisher.items()}, str(tmp))
        tmp.replace(fisher_out)
    typer.echo(f"wrote {out_prefix}.npy ({meta['dimensions']} values, {meta['n_examples']} examples, "
               f"{meta['seconds']} s on {meta['device']})")


@report_app.command("figure6")
def figure6_cmd(
    embeddings: Annotated[list[Path], typer.Argument(help="TaskEmb .json files (the .npy lies beside each)")],
    out_prefix: Annotated[Path, typer.Option(help="writes <prefix>.png and .pdf")],
    similarity_out: Annotated[Path, typer.Option(help="cosine-similarity matrix as CSV")],
    perplexity: Annotated[Optional[float], typer.Option(help="t-SNE perplexity (< number of embeddings); "
                                                             "default min(5, n-1)")] = TSNE_PERPLEXITY,
    seed: Annotated[int, typer.Option(help="t-SNE random state")] = 0,
) -> None:
    """Figure 6: t-SNE of the task embeddings; also their cosine-similarity matrix and the 2-D coordinates."""
    import numpy as np
    import pandas as pd

    from mtbioner.atomicio import write_text
    from mtbioner.errors import MtbionerError
    from mtbioner.report.figures import default_perplexity, figure6, tsne_coordinates
    from mtbioner.taskemb import cosine_similarity_matrix
    from mtbioner.tasks import TASKS

    labels, vectors = [], []
    for path in sorted(embeddings):
        path = path.with_suffix(".json")
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            vectors.append(np.load(path.with_suffix(".npy")))
        except (OSError, ValueError) as error:
            raise MtbionerError(f"{path}: not a TaskEmb output ({error})") from None
        labels.append((str(meta["dataset"]), str(meta["task"])))
    # paper order: dataset, then task in the canonical order (NER, mtCLS, bCLS, mCLS)
    order = sorted(range(len(labels)), key=lambda i: (labels[i][0], TASKS.index(labels[i][1])
                                                      if labels[i][1] in TASKS else len(TASKS)))
    labels, vectors = [labels[i] for i in order], [vectors[i] for i in order]
    if len({v.shape for v in vectors}) != 1:
        raise MtbionerError("task embeddings differ in size: they must come from the same encoder")
    matrix = np.stack(vectors)
    names = [f"{d}-{t}" for d, t in labels]
    cosine = cosine_similarity_matrix(matrix)
    similarity = pd.DataFrame(cosine, index=names, columns=names)
    write_text(similarity_out, similarity.to_csv(float_format="%.6f"))
    chosen = default_perplexity(len(vectors)) if perplexity is None else perplexity
    coordinates = tsne_coordinates(matrix, perplexity=chosen, seed=seed)
    write_text(Path(f"{out_prefix}_tsne.csv"), pd.DataFrame(
        {"dataset": [d for d, _ in labels], "task": [t for _, t in labels], "x": coordinates[:, 0],
         "y": coordinates[:, 1]}).to_csv(index=False, float_format="%.5f"))
    figure6(labels, coordinates, out_prefix, perplexity=chosen, similarity=cosine)
    typer.echo(f"wrote {out_prefix}.png/.pdf and {similarity_out} ({len(vectors)} embeddings, perplexity {chosen:g})")


@report_app.command("page")
def page_cmd(
    runs: RunsArg,
    out: Annotated[Path, typer.Option(help="the report page, e.g. results/report.md")],
    tables_dir: Annotated[Path, typer.Option(help="folder the `tables` and `casestudy` verbs wrote")],
    figures_dir: Annotated[Path, typer.Option(help="folder of figure4/5/6")],
    taskemb_dir: Annotated[Optional[Path], typer.Option(help="folder with similarity.csv")] = None,
    configfile: Annotated[Optional[list[str]], typer.Option(
        help="the parameter files the workflow merged (stated on the page)")] = None,
) -> None:
    """results/report.md: configuration, all tables and figures, and a summary generated from the numbers."""
    from mtbioner.report.page import write_report
    from mtbioner.report.runs import load_runs

    write_report(load_runs(runs), out, tables_dir, figures_dir, taskemb_dir, configfile)
    typer.echo(f"wrote {out}")
