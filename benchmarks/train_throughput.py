"""Training and prediction throughput of mtbioner against the Hugging Face baseline, with the test F1 of each.

In one process, on the same data (by default a full epoch of BC5CDR-chem train ∪ devel from the corpus
mirror: 9,141 sentences, 286 optimizer steps at batch 32), the same encoder (all-MiniLM-L6-v2 by default),
batch size, maximum length and thread count, one epoch each:

  (a)  HF `Trainer` + `AutoModelForTokenClassification`, run_ner style (`DataCollatorForTokenClassification`:
       random batches padded to their longest sentence)        -- the named baseline
  (a') the same with `train_sampling_strategy="group_by_length"` (transformers 5's `group_by_length=True`)
  (b)  `mtbioner.training.trainer` with NER only
  (c)  `mtbioner.training.trainer` with all four tasks (joint)
  (a'_bf16) (a') with `bf16=True`: bf16 autocast, as the CPU presets train
  (b_bf16)  (b) with `precision: bf16`

The bf16 pair runs where the device computes bf16 natively (CUDA, or a CPU with AVX512-BF16/AMX): elsewhere
our trainer runs fp32 by design (mtbioner.model.precision) while HF's autocast emulates bf16, ~9x slower than
fp32 on the AVX2-only development machine (an HF bf16 epoch would take ~25 min there), so the pair would compare
fp32 with emulated bf16. `--bf16 yes` runs it anyway, `--bf16 no` never; `--trainings` picks trainings by key.

After training, each model is scored on the same test sentences (the full test split by default) with seqeval
entity-level F1 in its default mode, as `mtbioner.training.evaluate` does: HF's models by predicting with the trained
`AutoModelForTokenClassification` on run_ner's test features (first sub-token of each word; words cut off by
max_length truncation count as `O` and are reported as a count), ours by the trainer's own evaluation
(`metrics.json`'s `ner.f1`). Equal F1 is part of the speed claim: a faster trainer that learns less is no gain.

Then prediction: `mtbioner.model.inference.predict` vs `pipeline("token-classification")` on the same test sentences.
Times cover the training loop / the prediction only (models are loaded before the clock starts); ours comes
from the trainer's own `train_seconds` record. Targets (issue 3): b/a >= 1.5, b/a' >= 1.0, c/b >= 0.95,
predict/pipeline >= 2; issue 15: b/a' >= 1.0 and b_bf16/a'_bf16 >= 1.0.

Why a full epoch by default: on a small sample (the old default, 320 sentences = 10 steps) the per-run
start-up of the training loop is a large share of the time and the ratios mostly measure it (b/a' 1.42 there,
1.01 on a full BC5CDR-chem epoch). A full round of the four trainings takes about 16 minutes on 2 CPU cores,
plus the test-set scoring and prediction; `--sentences N` / `--eval-sentences M` take the first N / M
sentences for a quick look.

    .venv/bin/python benchmarks/train_throughput.py                       # full scale, 2 threads, 1 round
    .venv/bin/python benchmarks/train_throughput.py --sentences 320 --eval-sentences 320 --threads 1 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,  # noqa: E402
                          Trainer, TrainerCallback, TrainingArguments, pipeline)
from transformers.utils import logging as hf_logging  # noqa: E402

from mtbioner.model.encoders import minilm_path  # noqa: E402
from mtbioner.params import param_default  # noqa: E402
from mtbioner.tasks.scoring import sequence_metrics  # noqa: E402
from mtbioner.data.examples import Example, entity_types_of, ner_label_list, write_examples, write_label_file  # noqa: E402
from mtbioner.model.inference import load_trained, predict  # noqa: E402
from mtbioner.model.precision import autocast_dtype, cpu_supports_bf16  # noqa: E402
from mtbioner.data.prepare import read_corpus  # noqa: E402
from mtbioner.run.config import RunConfig  # noqa: E402
from mtbioner.training.trainer import train_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MIRROR = os.environ.get("MTBIONER_MIRROR", ROOT.parent / "shared" / "datasets" / "MTL-Bioinformatics-2016")
# the development machine has 2 CPU cores; the full-scale numbers in benchmarks/README.md use both
DEFAULT_THREADS = 2
PREDICT_BATCH_SIZE = 64


def load_data(mirror: Path, dataset: str, n_train: int | None,
              n_test: int | None) -> tuple[list[Example], list[Example]]:
    """Training sentences: train.tsv then devel.tsv (the grid's train ∪ devel), the first `n_train` of them
    (all when None); test sentences: the first `n_test` of test.tsv (all when None). Read by `prepare`'s reader."""
    corpus = read_corpus(mirror / f"{dataset}-IOB")
    return corpus.train[:n_train], corpus.test[:n_test]


@dataclass
class Measured:
    sentences_per_second: float
    seconds: float
    f1: float | None = None  # test NER F1 (seqeval, default mode); None in rounds after the first (not scored)


def hf_features(examples: list[Example], tokenizer, label_ids: dict[str, int], max_length: int) -> list[dict]:
    """run_ner.py's `tokenize_and_align_labels`: truncation at max_length, label on the first sub-token."""
    encoded = tokenizer([list(e.tokens) for e in examples], is_split_into_words=True, truncation=True,
                        max_length=max_length)
    features = []
    for index, example in enumerate(examples):
        labels, previous = [], None
        for word_id in encoded.word_ids(index):
            labels.append(-100 if word_id is None or word_id == previous else label_ids[example.ner[word_id]])
            previous = word_id
        features.append({"input_ids": encoded["input_ids"][index], "attention_mask": encoded["attention_mask"][index],
                         "labels": labels})
    return features


def hf_predict_tags(model, tokenizer, examples: list[Example], labels: list[str],
                    max_length: int) -> tuple[list[list[str]], dict[str, int]]:
    """Word-level NER tags of a trained `AutoModelForTokenClassification` on run_ner's test features: the
    same truncation at max_length, the argmax at each word's first sub-token (where run_ner's labels sit).
    A word without a sub-token gets `O`; returned counts say how many: `truncated` (cut off by max_length)
    and `no_subtoken` (the tokenizer produced nothing for it)."""
    encoded = tokenizer([list(e.tokens) for e in examples], is_split_into_words=True, truncation=True,
                        max_length=max_length)
    order = sorted(range(len(examples)), key=lambda index: len(encoded["input_ids"][index]))
    tags: list[list[str]] = [[] for _ in examples]
    lost = {"truncated": 0, "no_subtoken": 0}
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(order), PREDICT_BATCH_SIZE):
            chunk = order[start:start + PREDICT_BATCH_SIZE]
            width = max(len(encoded["input_ids"][i]) for i in chunk)  # padded on the right: positions stay
            input_ids = torch.full((len(chunk), width), tokenizer.pad_token_id or 0, dtype=torch.long)
            attention_mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, index in enumerate(chunk):
                input_ids[row, :len(encoded["input_ids"][index])] = torch.tensor(encoded["input_ids"][index])
                attention_mask[row, :len(encoded["input_ids"][index])] = 1
            predicted = model(input_ids=input_ids.to(model.device),
                              attention_mask=attention_mask.to(model.device)).logits.argmax(-1).tolist()
            for row, index in zip(predicted, chunk):
                word_tags, seen = ["O"] * len(examples[index].tokens), set()
                for position, word_id in enumerate(encoded.word_ids(index)):
                    if word_id is not None and word_id not in seen:
                        seen.add(word_id)
                        word_tags[word_id] = labels[row[position]]
                last_seen = max(seen, default=-1)
                cut = len(encoded["input_ids"][index]) >= max_length
                for word_id in range(len(word_tags)):
                    if word_id not in seen:
                        lost["truncated" if cut and word_id > last_seen else "no_subtoken"] += 1
                tags[index] = word_tags
    return tags, lost


def hf_trainer_run(encoder: str, features: list[dict], tokenizer, labels: list[str], args, sampling: str,
                   work: Path, test: list[Example] | None,
                   bf16: bool = False) -> tuple[Measured, dict[str, int] | None]:
    """One epoch of HF Trainer (`bf16`: with bf16 autocast); when `test` is given, the trained model's test
    F1 (predicted in fp32) and its lost-word counts."""
    torch.manual_seed(args.seed)
    model = AutoModelForTokenClassification.from_pretrained(encoder, num_labels=len(labels))
    training_args = TrainingArguments(
        output_dir=str(work / f"hf-{sampling}{'-bf16' if bf16 else ''}"), bf16=bf16,
        per_device_train_batch_size=args.batch_size, num_train_epochs=1,
        learning_rate=5e-5, warmup_steps=0.1, weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="linear",
        train_sampling_strategy=sampling, logging_strategy="no", save_strategy="no", report_to="none",
        use_cpu=not torch.cuda.is_available(), disable_tqdm=True, seed=args.seed, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=training_args, train_dataset=features,
                      data_collator=DataCollatorForTokenClassification(tokenizer), processing_class=tokenizer)
    clock = _LoopClock()
    trainer.add_callback(clock)
    trainer.train()
    measured = Measured(len(features) / clock.seconds, clock.seconds)
    lost = None
    if test is not None:  # scored after the clock stopped
        predicted, lost = hf_predict_tags(trainer.model, tokenizer, test, labels, args.max_length)
        measured.f1 = sequence_metrics([list(example.ner) for example in test], predicted)["f1"]
    return measured, lost


class _LoopClock(TrainerCallback):
    """Times the Trainer's training loop only (from `on_train_begin`, after optimizer/dataloader set-up, to
    `on_train_end`), the same span as our trainer's `train_seconds`."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_train_end(self, args, state, control, **kwargs):
        self.seconds = time.perf_counter() - self.started


def ours_run(args, data: dict[str, Path], tasks: list[str], work: Path, score: bool,
             precision: str = "fp32") -> Measured:
    """One epoch of our trainer. With `score` the trainer's own evaluation scores the benchmark's test file
    (all of its sentences, after the last = only epoch, outside `train_seconds`); without it the evaluation
    is cut to one sentence (later rounds only time the training)."""
    run_dir = work / f"ours-{'-'.join(tasks)}{'' if precision == 'fp32' else '-' + precision}"
    config = RunConfig.model_validate({
        "dataset": args.dataset, "experiment": "benchmark", "seed": args.seed, "encoder": args.encoder,
        "tasks": tasks, "epochs": 1, "batch_size": args.batch_size, "learning_rate": 5e-5,
        "max_length": args.max_length, "precision": precision, "eval_every_epoch": False,
        "checkpoint_every_minutes": None, **({} if score else {"max_test_sentences": 1}),
        **{key: str(path) for key, path in data.items()}})
    torch.set_num_threads(args.threads)
    train_run(config, run_dir, progress=False)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    return Measured(metrics["train_sentences_per_second"], metrics["train_seconds"],
                    metrics["ner"]["f1"] if score else None)


def _f1_text(f1: float | None) -> str:
    return f"test F1 {100 * f1:5.2f}" if f1 is not None else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="BC5CDR-chem")
    parser.add_argument("--mirror", type=Path, default=Path(DEFAULT_MIRROR) / "data",
                        help="directory holding <dataset>-IOB/{train,devel,test}.tsv")
    parser.add_argument("--encoder", default="minilm", help="'minilm' or an HF model directory")
    parser.add_argument("--sentences", type=int, default=None,
                        help="training sentences: the first N of train.tsv + devel.tsv (default: all, a full epoch)")
    parser.add_argument("--eval-sentences", type=int, default=None,
                        help="test sentences for F1 and prediction: the first M of test.tsv (default: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help=f"torch CPU threads (default {DEFAULT_THREADS}: the development machine's cores)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of the four trainings, best round kept (default 1: a full-scale round takes "
                        "~16 min on 2 cores; use 2-3 for small samples on a shared machine). F1 is scored in "
                        "round 1 only")
    parser.add_argument("--bf16", choices=("auto", "yes", "no"), default="auto",
                        help="the bf16 pair (a'_bf16, b_bf16): auto = only where bf16 is native (CUDA, or a CPU "
                        "with AVX512-BF16/AMX), yes = always, no = never")
    parser.add_argument("--trainings", default=None,
                        help="comma-separated keys of the trainings to run (default: all): a,a',b,c,a'_bf16,b_bf16")
    parser.add_argument("--no-predict", action="store_true",
                        help="skip the prediction comparison (run by default after the NER-only training (b))")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    encoder_dir = minilm_path() if args.encoder == "minilm" else args.encoder
    train, test = load_data(args.mirror, args.dataset, args.sentences, args.eval_sentences)
    labels = ner_label_list(entity_types_of(train + test))
    label_ids = {label: index for index, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    native_bf16 = autocast_dtype(torch.device(device), "bf16") == torch.bfloat16
    run_bf16 = args.bf16 == "yes" or (args.bf16 == "auto" and native_bf16)
    subset = "" if args.sentences is None else f", first {args.sentences}"
    print(f"{args.dataset}: {len(train)} training sentences (train ∪ devel{subset}, "
          f"{math.ceil(len(train) / args.batch_size)} optimizer steps) / {len(test)} test sentences, encoder "
          f"{args.encoder}, batch {args.batch_size}, max length {args.max_length}, {args.threads} threads, {device}",
          flush=True)

    results: dict[str, float] = {}
    best: dict[str, Measured] = {}
    f1: dict[str, float] = {}
    hf_lost: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="mtbioner-bench-") as tmp:
        work = Path(tmp)
        data = {"train_file": work / "train.jsonl", "test_file": work / "test.jsonl",
                "labels_file": work / "labels.json"}
        write_examples(data["train_file"], train)
        write_examples(data["test_file"], test)
        write_label_file(data["labels_file"], entity_types_of(train + test))
        features = hf_features(train, tokenizer, label_ids, args.max_length)

        def hf(sampling: str, key: str, bf16: bool = False):
            def measure(score: bool) -> Measured:
                measured, lost = hf_trainer_run(encoder_dir, features, tokenizer, labels, args, sampling, work,
                                                test if score else None, bf16=bf16)
                if lost is not None:
                    hf_lost[key] = lost
                return measured
            return measure

        steps = [
            ("a", "HF Trainer, default padding", hf("random", "a")),
            ("a'", "HF Trainer, group_by_length", hf("group_by_length", "a'")),
            ("b", "mtbioner, NER only", lambda score: ours_run(args, data, ["ner"], work, score)),
            ("c", "mtbioner, 4 tasks joint",
             lambda score: ours_run(args, data, list(param_default("grid", "tasks")), work, score)),
        ]
        if run_bf16:
            steps += [("a'_bf16", "HF Trainer, group_by_length, bf16", hf("group_by_length", "a'_bf16", bf16=True)),
                      ("b_bf16", "mtbioner, NER only, precision bf16",
                       lambda score: ours_run(args, data, ["ner"], work, score, precision="bf16"))]
        else:
            print(f"  bf16 pair skipped: {device} has no native bf16 (CPU capability "
                  f"{torch.backends.cpu.get_cpu_capability()}), so our trainer would run fp32 and HF's autocast "
                  "would emulate bf16; --bf16 yes runs it anyway", flush=True)
        if args.trainings is not None:
            wanted = args.trainings.split(",")
            unknown = sorted(set(wanted) - {key for key, _, _ in steps})
            if unknown:
                parser.error(f"--trainings: unknown or skipped keys {', '.join(unknown)}")
            steps = [step for step in steps if step[0] in wanted]
        # Rounds interleave the four trainings so a burst of load from other processes hits all of them
        # alike; each keeps its best round (the least disturbed one), as timeit does. Training is deterministic
        # on CPU, so the test F1 is scored once, in round 1.
        for round_number in range(1, args.repeats + 1):
            for key, name, measure in steps:
                measured = measure(round_number == 1)
                if measured.f1 is not None:
                    f1[key] = measured.f1
                if key not in best or measured.sentences_per_second > best[key].sentences_per_second:
                    best[key] = measured
                print(f"  round {round_number} train ({key:2}) {name:30} {measured.sentences_per_second:8.1f} "
                      f"sentences/s {measured.seconds:8.1f} s  {_f1_text(measured.f1)}", flush=True)
        for key, name, _ in steps:
            results[key] = best[key].sentences_per_second
            print(f"  best   train ({key:2}) {name:30} {results[key]:8.1f} sentences/s {best[key].seconds:8.1f} s  "
                  f"{_f1_text(f1.get(key))}")
        for key, lost in hf_lost.items():
            print(f"  HF ({key}) test words without a prediction (counted as O): {lost['truncated']} cut off by "
                  f"max length {args.max_length}, {lost['no_subtoken']} without a sub-token", flush=True)

        # prediction: our length-sorted batches vs the HF pipeline, same weights (the NER-only run's model)
        if "b" in best and not args.no_predict:
            predict_throughput(args, work, encoder_dir, test, labels, tokenizer, device, results)

    pairs = {"b/a": ("b", "a", 1.5), "b/a'": ("b", "a'", 1.0), "c/b": ("c", "b", 0.95),
             "b_bf16/a'_bf16": ("b_bf16", "a'_bf16", 1.0), "predict/pipeline": ("predict", "pipeline", 2.0),
             "predict/pipeline_batched": ("predict", "pipeline_batched", 1.0)}
    ratios = {key: results[top] / results[bottom] for key, (top, bottom, _) in pairs.items()
              if top in results and bottom in results}
    print("ratios (target):")
    for key, value in ratios.items():
        target = pairs[key][2]
        print(f"  {key:25} {value:5.2f}  (>= {target})  {'ok' if value >= target else 'MISSED'}")
    print(f"test NER F1 (seqeval, {len(test)} sentences):  " + "  ".join(
        f"({key}) {100 * value:.2f}" for key, value in f1.items()))
    for ours, theirs in (("b", "a'"), ("b_bf16", "a'_bf16")):
        if ours in f1 and theirs in f1:
            print(f"  ({ours}) - ({theirs}) {100 * (f1[ours] - f1[theirs]):+.2f} F1 points")
    if args.json:
        args.json.write_text(json.dumps({
            # paths relative to the repository, so the recorded file names no machine's directories
            "config": {k: os.path.relpath(v, ROOT) if isinstance(v, Path) else str(v) for k, v in vars(args).items()},
            "data": {"train_sentences": len(train), "test_sentences": len(test),
                     "optimizer_steps": math.ceil(len(train) / args.batch_size)},
            "device": {"device": device, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                       "cpu_native_bf16": cpu_supports_bf16(), "torch": torch.__version__,
                       "transformers": transformers.__version__},
            "sentences_per_second": results, "train_seconds": {key: m.seconds for key, m in best.items()},
            "test_ner_f1": f1, "hf_test_words_without_prediction": hf_lost, "ratios": ratios}, indent=2) + "\n")


def predict_throughput(args, work: Path, encoder_dir, test: list[Example], labels: list[str], tokenizer,
                       device: str, results: dict[str, float]) -> None:
    """Sentences/s of `predict` (the NER-only run's model) and of the HF pipeline, into `results`."""
    model, our_tokenizer = load_trained(work / "ours-ner")
    model.to(device)
    sentences = [list(example.tokens) for example in test]
    hf_model = AutoModelForTokenClassification.from_pretrained(encoder_dir, num_labels=len(labels))
    texts = [" ".join(sentence) for sentence in sentences]
    taggers = {"pipeline": pipeline("token-classification", model=hf_model, tokenizer=tokenizer, device=device),
               "pipeline_batched": pipeline("token-classification", model=hf_model, tokenizer=tokenizer,
                                            device=device, batch_size=PREDICT_BATCH_SIZE)}
    for _ in range(args.repeats):
        started = time.perf_counter()
        predict(model, our_tokenizer, sentences, batch_size=PREDICT_BATCH_SIZE)
        results["predict"] = max(results.get("predict", 0.0), len(sentences) / (time.perf_counter() - started))
        # the pipeline as users call it (one sentence at a time), and with the same batch size as ours
        for key, tagger in taggers.items():
            started = time.perf_counter()
            tagger(texts)
            results[key] = max(results.get(key, 0.0), len(texts) / (time.perf_counter() - started))
    print(f"  predict mtbioner.model.inference.predict (batch 64)      {results['predict']:8.1f} sentences/s")
    print(f"  predict pipeline('token-classification') (default) {results['pipeline']:8.1f} sentences/s")
    print(f"  predict pipeline('token-classification', batch 64) {results['pipeline_batched']:8.1f} sentences/s")


if __name__ == "__main__":
    sys.exit(main())
