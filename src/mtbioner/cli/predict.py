"""`mtbioner` verbs for using a trained model: predict, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from mtbioner.cli import app
from mtbioner.use.predict import DEFAULT_BATCH_SIZE, Precision


def _quiet_transformers() -> None:
    """Keep stderr for our own progress bar and errors: transformers' load reports and weight-loading bars
    (e.g. about the unused sentence pooler) say nothing the user can act on here."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


@app.command()
def predict(
    input: Annotated[str, typer.Argument(help="raw text or token-per-line file; '-' reads standard input")],
    model: Annotated[Path, typer.Option(help="run directory, its model/ directory, or an `mtbioner export` directory")],
    format: Annotated[Literal["iob", "jsonl", "bioc", "bioc-json", "pubtator"], typer.Option(
        "--format", help="iob: word<TAB>tag lines; jsonl: one JSON object per sentence with entity spans, "
                         "character offsets (raw text input) and bCLS/mCLS; bioc, bioc-json, pubtator: the "
                         "documents with one annotation per mention (type, offset, length), bCLS/mCLS as "
                         "infons (BioC); a BioC input keeps its own annotations and infons")] = "iob",
    input_format: Annotated[Literal["auto", "text", "iob", "bioc", "bioc-json", "pubtator"], typer.Option(
        help="auto: BioC XML/JSON or PubTator by content, else raw text; text: raw text, split into sentences "
             "and corpus-style words; iob: one token per line (first column), blank line between sentences, "
             "other columns ignored")] = "auto",
    batch_size: Annotated[int, typer.Option(min=1, help="sentences (or windows) per forward pass; the default "
                                                        "is fastest on CPU, raise it on a GPU")] = DEFAULT_BATCH_SIZE,
    precision: Annotated[Precision, typer.Option(
        help="auto: fp32 on CPU, bf16 on CUDA where supported; bf16 on CPU is ~3x faster on CPUs with "
             "AVX512-BF16/AMX but may change a few tags")] = "auto",
    device: Annotated[str, typer.Option(help="auto (CUDA if available), cpu, cuda, cuda:1, ...")] = "auto",
    output: Annotated[Optional[Path], typer.Option(help="output file, written atomically; default stdout")] = None,
    progress: Annotated[bool, typer.Option(help="progress bar on stderr")] = True,
    stats: Annotated[Optional[Path], typer.Option(help="also write the input's figures as JSON: documents, "
                                                       "sentences, mentions per type, seconds")] = None,
) -> None:
    """Tag new text with a trained model: NER tags (IOB), entity spans + sentence classes (JSON lines), or
    annotated BioC / PubTator documents."""
    from mtbioner.use.predict import run_predict

    _quiet_transformers()
    count = run_predict(model, input, output=output, output_format=format, input_format=input_format,
                        batch_size=batch_size, progress=progress, precision=precision, device=device,
                        stats=stats)
    if output is not None:
        typer.echo(f"{count} sentences tagged -> {output}", err=True)


@app.command("tag-summary")
def tag_summary(
    stats: Annotated[list[Path], typer.Argument(help="the per-file JSON files of `predict --stats`")],
    out: Annotated[Path, typer.Option(help="summary TSV, written atomically")],
) -> None:
    """Summarise a tagged corpus: one TSV row per file (documents, sentences, mentions per type, seconds)."""
    from mtbioner.use.tagstats import write_summary

    count = write_summary(stats, out)
    typer.echo(f"{count} files summarised -> {out}", err=True)


@app.command()
def export(
    run: Annotated[Path, typer.Argument(help="run directory (or its model/ directory)")],
    out_dir: Annotated[Path, typer.Argument(help="directory for the HF token-classification model (replaced)")],
) -> None:
    """Export the run's NER model for plain transformers (AutoModelForTokenClassification / pipeline)."""
    from mtbioner.use.export import export_token_classification

    _quiet_transformers()
    target = export_token_classification(run, out_dir)
    typer.echo(f"exported {run} -> {target} (load with transformers.pipeline('token-classification', "
               f"model='{target}'))", err=True)
