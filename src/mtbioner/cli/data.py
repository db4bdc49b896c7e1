"""`mtbioner` verbs of the data stage: download, import-corpus, prepare, subsample, stats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mtbioner.cli import app
from mtbioner.cli.options import param_option
from mtbioner.params import param_default


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


@app.command()
def download(
    dataset: Annotated[str, typer.Argument(help="corpus dataset name, e.g. BC2GM (folder <NAME>-IOB)")],
    out_dir: Annotated[Path, typer.Option(help="where train/devel/test.tsv and manifest.json go")],
    source: Annotated[str, typer.Option(help="upstream raw URL base (default), a mirror URL or directory")] = "",
    attempts: Annotated[int, typer.Option(min=1, help="tries per file for transient HTTP failures")] = 5,
) -> None:
    """Download one MTL-Bioinformatics-2016 dataset at the pinned commit, verified by SHA-256."""
    from mtbioner.data.corpus import UPSTREAM_SOURCE, download_with_manifest

    download_with_manifest(dataset, out_dir, source or UPSTREAM_SOURCE, attempts=attempts)
    typer.echo(f"{dataset}: train, devel, test verified -> {out_dir}")


@app.command("import-corpus")
def import_corpus(
    name: Annotated[str, typer.Argument(help="name of your dataset (as used in params.yaml)")],
    train: Annotated[Path, typer.Option(help="training split: token<TAB>tag, BioC XML/JSON or PubTator")],
    test: Annotated[Path, typer.Option(help="test split, in any of the same formats")],
    out_dir: Annotated[Path, typer.Option(help="where train/devel/test.tsv, manifest.json, conversion.json and "
                                               "offsets.jsonl go")],
    devel: Annotated[Optional[Path], typer.Option(help="devel split; without it, train alone is trained on")] = None,
    format: Annotated[str, typer.Option(
        "--format", help="auto (each file by its content), iob, bioc, bioc-json or pubtator")] = "auto",
    entity_types: Annotated[str, typer.Option(
        help="BioC/PubTator: comma-separated types to keep (after --type); any other type is an error. "
             "Empty: keep every type")] = "",
    type: Annotated[Optional[list[str]], typer.Option(
        "--type", help="BioC/PubTator: FROM=TO renames a mention type (FROM= drops it, counted); repeatable")] = None,
    allow_shared_documents: Annotated[bool, typer.Option(
        help="BioC/PubTator: import documents found in two splits (same id or text), counted in conversion.json, "
             "instead of stopping")] = False,
) -> None:
    """Validate your own corpus files (IOB copied, BioC/PubTator converted to words and BIO tags, every alignment
    problem counted in conversion.json) and put them into the pipeline; errors name file and line or document."""
    from mtbioner.data.corpus import OwnCorpusOptions, import_own_corpus
    from mtbioner.errors import MtbionerError

    rename: dict[str, str | None] = {}
    for item in type or []:
        source, equals, target = item.partition("=")
        if not equals or not source:
            raise MtbionerError(f"--type wants FROM=TO (or FROM= to drop a type), got {item!r}")
        rename[source] = target or None
    options = OwnCorpusOptions.from_entry({"format": format, "entity_types": _split_list(entity_types) or None,
                                           "types": rename, "allow_shared_documents": allow_shared_documents})
    given = {"train": train, "devel": devel, "test": test}
    _, summary = import_own_corpus(name, given, out_dir, options)
    typer.echo(f"{name}: {', '.join(s for s, p in given.items() if p)} imported -> {out_dir}: {summary}")


@app.command()
def prepare(
    raw_dir: Annotated[Path, typer.Option(help="folder with train/devel/test.tsv (+ manifest.json)")],
    out_dir: Annotated[Path, typer.Option(help="where train.jsonl, test.jsonl, labels.json go")],
) -> None:
    """Validate the corpus, merge train+devel, derive bCLS/mCLS/mtCLS labels, write JSONL (format v1)."""
    from mtbioner.data.prepare import prepare_dataset

    counts = prepare_dataset(raw_dir, out_dir)
    typer.echo(", ".join(f"{split}: {n} sentences" for split, n in counts.items()) + f" -> {out_dir}")


@app.command()
def subsample(
    train: Annotated[Path, typer.Option(help="prepared train.jsonl (train ∪ devel)")],
    out_dir: Annotated[Path, typer.Option(help="where train.frac{F}.jsonl go")],
    fractions: Annotated[str, typer.Option(help="comma-separated percentages")] = ",".join(
        str(f) for f in param_default("data", "fractions")),
    seed: Annotated[int, param_option("data", "subsample_seed")] = param_default("data", "subsample_seed"),
    max_sentences: Annotated[Optional[int], param_option("data", "max_train_sentences")] = None,
) -> None:
    """Write nested seeded subsamples (10 % ⊂ 25 % ⊂ 50 % ⊂ 100 %) of the training set."""
    from mtbioner.errors import MtbionerError
    from mtbioner.data.subsample import write_subsamples

    try:
        percentages = [int(value) for value in _split_list(fractions)]
    except ValueError:
        raise MtbionerError(f"--fractions must be comma-separated integers, got {fractions!r}") from None
    if not percentages or any(not 0 < value <= 100 for value in percentages):
        raise MtbionerError(f"--fractions must be percentages in 1..100, got {fractions!r}")
    sizes, total = write_subsamples(train, out_dir, percentages, seed, max_sentences)
    typer.echo("\n".join(f"{fraction}%: {size} of {total} sentences" for fraction, size in sizes.items()))


@app.command()
def stats(
    data_dir: Annotated[Path, typer.Option(help="results/<name>/data (one prepared folder per dataset)")],
    datasets: Annotated[str, typer.Option(help="comma-separated dataset names")],
    out_prefix: Annotated[Path, typer.Option(help="e.g. results/paper/tables/table1 -> .md .tex .csv")],
) -> None:
    """Table 1: sentences and entities per dataset and split, beside the paper's Table 1."""
    from mtbioner.data.stats import write_table1

    written = write_table1(data_dir, _split_list(datasets), out_prefix)
    typer.echo("\n".join(f"wrote {path}" for path in written))
