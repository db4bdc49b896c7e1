"""`mtbioner` verbs of the data stage: download, import-corpus, prepare, subsample, stats."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from mtbioner.cli import app


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
    from mtbioner.corpus import UPSTREAM_COMMIT, UPSTREAM_SOURCE, download_dataset, expected_digests
    from mtbioner.prepare import write_manifest

    source = source or UPSTREAM_SOURCE
    download_dataset(dataset, out_dir, source, attempts=attempts)
    files = {split: {"sha256": expected_digests()[(dataset, split)]} for split in ("train", "devel", "test")}
    write_manifest(out_dir, dataset, f"{source} (commit {UPSTREAM_COMMIT})", files)
    typer.echo(f"{dataset}: train, devel, test verified -> {out_dir}")


@app.command("import-corpus")
def import_corpus(
    name: Annotated[str, typer.Argument(help="name of your dataset (as used in params.yaml)")],
    train: Annotated[Path, typer.Option(help="training split, token<TAB>tag")],
    test: Annotated[Path, typer.Option(help="test split, token<TAB>tag")],
    out_dir: Annotated[Path, typer.Option(help="where train/devel/test.tsv and manifest.json go")],
    devel: Annotated[Optional[Path], typer.Option(help="devel split; without it, train alone is trained on")] = None,
) -> None:
    """Validate your own corpus files and copy them into the pipeline (errors name file:line)."""
    from mtbioner.corpus import import_files
    from mtbioner.iob import read_iob
    from mtbioner.prepare import write_manifest

    given = {"train": train, "devel": devel, "test": test}
    for path in given.values():
        if path is not None:
            read_iob(path)  # validate before anything is copied: errors name the user's own file and line
    import_files(given, out_dir)
    files = {split: None if path is None else {"origin": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
             for split, path in given.items()}
    write_manifest(out_dir, name, "own corpus", files)
    typer.echo(f"{name}: {', '.join(s for s, p in given.items() if p)} imported -> {out_dir}")


@app.command()
def prepare(
    raw_dir: Annotated[Path, typer.Option(help="folder with train/devel/test.tsv (+ manifest.json)")],
    out_dir: Annotated[Path, typer.Option(help="where train.jsonl, test.jsonl, labels.json go")],
) -> None:
    """Validate the corpus, merge train+devel, derive bCLS/mCLS/mtCLS labels, write JSONL (format v1)."""
    from mtbioner.prepare import prepare_dataset

    counts = prepare_dataset(raw_dir, out_dir)
    typer.echo(", ".join(f"{split}: {n} sentences" for split, n in counts.items()) + f" -> {out_dir}")


@app.command()
def subsample(
    train: Annotated[Path, typer.Option(help="prepared train.jsonl (train ∪ devel)")],
    out_dir: Annotated[Path, typer.Option(help="where train.frac{F}.jsonl go")],
    fractions: Annotated[str, typer.Option(help="comma-separated percentages")] = "100,50,25,10",
    seed: Annotated[int, typer.Option(help="seed of the one permutation all fractions share")] = 13,
    max_sentences: Annotated[Optional[int], typer.Option(min=1, help="cap the 100 % set first (CPU presets)")] = None,
) -> None:
    """Write nested seeded subsamples (10 % ⊂ 25 % ⊂ 50 % ⊂ 100 %) of the training set."""
    from mtbioner.errors import MtbionerError
    from mtbioner.examples import read_examples, write_examples
    from mtbioner.subsample import nested_subsample

    try:
        percentages = [int(value) for value in _split_list(fractions)]
    except ValueError:
        raise MtbionerError(f"--fractions must be comma-separated integers, got {fractions!r}") from None
    if not percentages or any(not 0 < value <= 100 for value in percentages):
        raise MtbionerError(f"--fractions must be percentages in 1..100, got {fractions!r}")
    examples = read_examples(train)
    for fraction, indices in nested_subsample(len(examples), percentages, seed, max_sentences).items():
        write_examples(out_dir / f"train.frac{fraction}.jsonl", (examples[i] for i in indices))
        typer.echo(f"{fraction}%: {len(indices)} of {len(examples)} sentences")


@app.command()
def stats(
    data_dir: Annotated[Path, typer.Option(help="results/data (one prepared folder per dataset)")],
    datasets: Annotated[str, typer.Option(help="comma-separated dataset names")],
    out_prefix: Annotated[Path, typer.Option(help="e.g. results/tables/table1 -> .md .tex .csv")],
) -> None:
    """Table 1: sentences and entities per dataset and split, beside the paper's Table 1."""
    from mtbioner.stats import dataset_stats, render_table1

    collected = {name: dataset_stats(data_dir / name) for name in _split_list(datasets)}
    for path in render_table1(collected, out_prefix):
        typer.echo(f"wrote {path}")
