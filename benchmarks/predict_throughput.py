"""CPU throughput of `mtbioner predict` against the HF `pipeline("token-classification")` baseline.

Both sides run the *same exported model* (`mtbioner export` of a run) on the *same sentences* (the first N
test sentences of a corpus dataset), in this process, with the same number of torch threads. Model loading
is excluded from both timings; each side is warmed up on a few sentences first.

* ours: `mtbioner.use.predict` on the export (`predict_sentences` + IOB formatting, i.e. what the CLI does after
  reading its input): sub-word encoding, length-sorted batches, first-sub-token tags; exact fp32 (the
  default) and, where the CPU supports bf16 natively, `--precision bf16` (its tag agreement is printed).
* baseline (named): `pipeline("token-classification", model=EXPORT)` called on the sentences as strings with
  its default settings (one sentence per forward pass, ``aggregation_strategy="none"``).
* also shown: the same pipeline with ``batch_size=B`` (its own batching, padded but not length-sorted).

The model is a run given with ``--run`` or, by default, a run trained here for ``--epochs`` epoch(s) on the
first ``--train-sentences`` training sentences (throughput depends on the encoder's size, not on how well it
was trained). Prints sentences/s and the ratio against the baseline; ``--json FILE`` also writes them.

    python benchmarks/predict_throughput.py --encoder minilm --sentences 500 --threads 2

Measured (2026-11, shared 2-core CPU with AVX512-BF16, torch 2.13 CPU, 1 thread, 500 BC5CDR-chem test
sentences = 13,499 words, MiniLM trained one epoch on BC5CDR-chem train+devel, best of 2-3 interleaved rounds):
mtbioner predict fp32 77.8-107.8 sentences/s, bf16 304-310; pipeline default 49.5-71.2, batch 32 37.8-46.1.
Ratio vs the default pipeline: fp32 1.51-1.57x (identical tags in 500/500 sentences), bf16 4.35-6.13x
(100.00 % identical word tags). With one thread the fp32 forward pass dominates both sides, so batching
gains little; the HF pipeline's own batching is slower than its default (padding, no length sorting).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import pipeline  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from mtbioner.atomicio import write_json  # noqa: E402
from mtbioner.data.examples import entity_types_of, write_examples, write_label_file  # noqa: E402
from mtbioner.data.files import DataFiles  # noqa: E402
from mtbioner.use.export import export_token_classification, pipeline_word_tags  # noqa: E402
from mtbioner.data.prepare import Corpus, read_corpus  # noqa: E402
from mtbioner.use.predict import (DEFAULT_BATCH_SIZE, InputSentence, format_lines, load_model,  # noqa: E402
                              predict_sentences)
from mtbioner.run.config import RunConfig  # noqa: E402
from mtbioner.training.trainer import train_run  # noqa: E402

DEFAULT_MIRROR = str(Path(os.environ.get(
    "MTBIONER_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "datasets" / "MTL-Bioinformatics-2016")) / "data")


def train_brief_run(args: argparse.Namespace, workdir: Path, corpus: Corpus) -> Path:
    """A real (short) training run of `args.encoder`, so the benchmark needs nothing prepared beforehand."""
    train, test = corpus.train[:args.train_sentences], corpus.test[:50]
    data = DataFiles(str(workdir / "data"))
    write_examples(data.train, train)
    write_examples(data.test, test)
    write_label_file(data.labels, entity_types_of(train + test))
    config = RunConfig(dataset=args.dataset, experiment="benchmark", encoder=args.encoder, epochs=args.epochs,
                       batch_size=16, learning_rate=args.learning_rate or (1e-3 if args.encoder == "tiny" else 1e-4),
                       max_length=args.max_length, train_file=data.train, test_file=data.test,
                       labels_file=data.labels)
    run_dir = workdir / "run"
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    train_run(config, run_dir, device="cpu", progress=False)
    print(f"trained {args.encoder} on {len(train)} sentences x {args.epochs} epoch(s) in "
          f"{time.perf_counter() - started:.1f} s -> {run_dir}")
    return run_dir


def timed_interleaved(functions: dict, repeats: int) -> tuple[dict[str, float], dict[str, object]]:
    """Best wall time of each function over `repeats` rounds, the functions taking turns within a round, so
    that load from other processes on a shared machine hits all contenders alike."""
    best = {name: float("inf") for name in functions}
    results: dict[str, object] = {}
    for _ in range(repeats):
        for name, function in functions.items():
            started = time.perf_counter()
            results[name] = function()
            best[name] = min(best[name], time.perf_counter() - started)
    return best, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="trained run directory (default: train a brief one here)")
    parser.add_argument("--encoder", default="minilm", help="encoder of the brief run: minilm (default), tiny, path")
    parser.add_argument("--train-sentences", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, help="of the brief run (default 1e-4; 1e-3 for tiny)")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--dataset", default="BC5CDR-chem")
    parser.add_argument("--mirror", default=DEFAULT_MIRROR, help="corpus mirror (folders <NAME>-IOB)")
    parser.add_argument("--sentences", type=int, default=500, help="test sentences to tag")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for both sides")
    parser.add_argument("--repeats", type=int, default=2, help="timed repetitions (best is kept)")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    with tempfile.TemporaryDirectory(prefix="mtbioner-bench-") as tmp:
        workdir = Path(tmp)
        corpus = read_corpus(Path(args.mirror) / f"{args.dataset}-IOB")
        run_dir = args.run or train_brief_run(args, workdir, corpus)
        exported = export_token_classification(run_dir, workdir / "exported")
        words = [list(example.tokens) for example in corpus.test[:args.sentences]]
        sentences = [InputSentence(tuple(w)) for w in words]
        n_words = sum(len(w) for w in words)

        model, tokenizer = load_model(exported)

        def ours(precision: str = "fp32") -> list:
            predictions = predict_sentences(model, tokenizer, sentences, batch_size=args.batch_size,
                                            precision=precision)
            "".join(format_lines(sentences, predictions, "iob"))
            return [p.ner for p in predictions]

        pipe = pipeline("token-classification", model=str(exported), aggregation_strategy="none", device=-1)
        full = pipeline("token-classification", model=str(exported), aggregation_strategy="none",
                        ignore_labels=[], device=-1)
        texts = [" ".join(w) for w in words]

        # warm-up (first calls allocate and initialise kernels)
        predict_sentences(model, tokenizer, sentences[:16], batch_size=args.batch_size)
        pipe(texts[:16])
        bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
        contenders = {"ours": ours, "base": lambda: pipe(texts),
                      "batched": lambda: pipe(texts, batch_size=args.batch_size)}
        if bf16:
            contenders["bf16"] = lambda: ours(precision="bf16")
            ours(precision="bf16")  # warm-up of the bf16 kernels
        times, outputs = timed_interleaved(contenders, args.repeats)
        ours_s, base_s, batched_s, our_tags = times["ours"], times["base"], times["batched"], outputs["ours"]
        if bf16:
            bf16_s, bf16_tags = times["bf16"], outputs["bf16"]
        # the same tags as the pipeline (read per word), so both sides really compute the same thing
        reference = pipeline_word_tags(full, words, batch_size=args.batch_size)
        agree = sum(a == b for a, b in zip(reference, our_tags))
        if bf16:
            pairs = [(a, b) for ref, tags in zip(reference, bf16_tags) for a, b in zip(ref, tags)]
            bf16_word_agreement = sum(a == b for a, b in pairs) / max(len(pairs), 1)

    config = model.encoder.config
    results = {
        "encoder": args.encoder if args.run is None else str(args.run),
        "layers": config.num_hidden_layers, "hidden_size": config.hidden_size,
        "dataset": args.dataset, "sentences": len(words), "words": n_words, "threads": args.threads,
        "batch_size": args.batch_size, "torch": torch.__version__,
        "mtbioner_predict_sentences_per_s": len(words) / ours_s,
        "pipeline_default_sentences_per_s": len(words) / base_s,
        f"pipeline_batch{args.batch_size}_sentences_per_s": len(words) / batched_s,
        "ratio_vs_pipeline_default": base_s / ours_s,
        f"ratio_vs_pipeline_batch{args.batch_size}": batched_s / ours_s,
        "sentences_with_identical_tags": agree,
        "entity_tags_in_reference": sum(tag != "O" for tags in reference for tag in tags),
    }
    if bf16:
        results.update({"mtbioner_predict_bf16_sentences_per_s": len(words) / bf16_s,
                        "ratio_bf16_vs_pipeline_default": base_s / bf16_s,
                        "bf16_word_tag_agreement_with_pipeline": bf16_word_agreement})
    print(f"{results['encoder']} ({config.num_hidden_layers} layers, hidden {config.hidden_size}), "
          f"{len(words)} {args.dataset} test sentences ({n_words} words), {args.threads} thread(s), CPU")
    print(f"  mtbioner predict (batch {args.batch_size}, length-sorted): {len(words) / ours_s:8.1f} sentences/s")
    if bf16:
        print(f"  mtbioner predict --precision bf16:                    {len(words) / bf16_s:8.1f} sentences/s")
    print(f"  HF pipeline, default (batch 1) [baseline]:           {len(words) / base_s:8.1f} sentences/s")
    print(f"  HF pipeline, batch_size={args.batch_size}:                        {len(words) / batched_s:8.1f} sentences/s")
    print(f"  ratio vs baseline: {base_s / ours_s:.2f}x   (vs batched pipeline: {batched_s / ours_s:.2f}x)")
    if bf16:
        print(f"  ratio of bf16 vs baseline: {base_s / bf16_s:.2f}x   (bf16 word tags equal to the fp32 "
              f"pipeline's: {100 * bf16_word_agreement:.2f} %)")
    print(f"  fp32: identical word tags in {agree}/{len(words)} sentences "
          f"({results['entity_tags_in_reference']} non-O tags in the pipeline's output)")
    if args.json:
        write_json(args.json, results)


if __name__ == "__main__":
    main()
