"""Training and prediction throughput of mtbioner against the Hugging Face baseline, printed as ratios.

In one process, on the same data (the first N sentences of a dataset's train split from the corpus mirror),
the same encoder (all-MiniLM-L6-v2 by default), batch size, maximum length and thread count, one epoch each:

  (a)  HF `Trainer` + `AutoModelForTokenClassification`, run_ner style (`DataCollatorForTokenClassification`:
       random batches padded to their longest sentence)        -- the named baseline
  (a') the same with `train_sampling_strategy="group_by_length"` (transformers 5's `group_by_length=True`)
  (b)  `mtbioner.train` with NER only
  (c)  `mtbioner.train` with all four tasks (joint)

and prediction: `mtbioner.inference.predict` vs `pipeline("token-classification")` on the first M test sentences.
Times cover the training loop / the prediction only (models are loaded before the clock starts); ours comes
from the trainer's own `train_seconds` record. Targets (issue 3): b/a >= 1.5, b/a' >= 1.0, c/b >= 0.95,
predict/pipeline >= 2.

    .venv/bin/python benchmarks/train_throughput.py --sentences 320 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,  # noqa: E402
                          Trainer, TrainerCallback, TrainingArguments, pipeline)
from transformers.utils import logging as hf_logging  # noqa: E402

from mtbioner.encoders import minilm_path  # noqa: E402
from mtbioner.examples import Example, entity_types_of, example_from_sentence, write_examples, write_label_file  # noqa: E402
from mtbioner.inference import load_trained, predict  # noqa: E402
from mtbioner.iob import read_iob  # noqa: E402
from mtbioner.runconfig import RunConfig  # noqa: E402
from mtbioner.train import train_run  # noqa: E402

DEFAULT_MIRROR = os.environ.get("MTBIONER_MIRROR", Path(__file__).resolve().parents[2] / "shared" / "datasets" / "MTL-Bioinformatics-2016")


def load_slice(mirror: Path, dataset: str, n_train: int, n_test: int) -> tuple[list[Example], list[Example]]:
    folder = mirror / f"{dataset}-IOB"
    train = [example_from_sentence(s, f"train:{i}") for i, s in enumerate(read_iob(folder / "train.tsv")[:n_train], 1)]
    test = [example_from_sentence(s, f"test:{i}") for i, s in enumerate(read_iob(folder / "test.tsv")[:n_test], 1)]
    return train, test


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


def hf_trainer_throughput(encoder: str, features: list[dict], tokenizer, n_labels: int, args,
                          sampling: str, work: Path) -> float:
    torch.manual_seed(args.seed)
    model = AutoModelForTokenClassification.from_pretrained(encoder, num_labels=n_labels)
    training_args = TrainingArguments(
        output_dir=str(work / f"hf-{sampling}"), per_device_train_batch_size=args.batch_size, num_train_epochs=1,
        learning_rate=5e-5, warmup_steps=0.1, weight_decay=0.01, max_grad_norm=1.0, lr_scheduler_type="linear",
        train_sampling_strategy=sampling, logging_strategy="no", save_strategy="no", report_to="none",
        use_cpu=not torch.cuda.is_available(), disable_tqdm=True, seed=args.seed, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=training_args, train_dataset=features,
                      data_collator=DataCollatorForTokenClassification(tokenizer), processing_class=tokenizer)
    clock = _LoopClock()
    trainer.add_callback(clock)
    trainer.train()
    return len(features) / clock.seconds


class _LoopClock(TrainerCallback):
    """Times the Trainer's training loop only (from `on_train_begin`, after optimizer/dataloader set-up, to
    `on_train_end`), the same span as our trainer's `train_seconds`."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_train_end(self, args, state, control, **kwargs):
        self.seconds = time.perf_counter() - self.started


def ours_throughput(args, data: dict[str, Path], tasks: list[str], work: Path) -> tuple[float, Path]:
    run_dir = work / f"ours-{'-'.join(tasks)}"
    config = RunConfig.model_validate({
        "dataset": args.dataset, "experiment": "benchmark", "seed": args.seed, "encoder": args.encoder,
        "tasks": tasks, "epochs": 1, "batch_size": args.batch_size, "learning_rate": 5e-5,
        "max_length": args.max_length, "max_test_sentences": 1, "num_threads": args.threads,
        **{key: str(path) for key, path in data.items()}})
    metrics = train_run(config, run_dir, progress=False)
    return metrics["train_sentences_per_second"], run_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="BC5CDR-chem")
    parser.add_argument("--mirror", type=Path, default=Path(DEFAULT_MIRROR) / "data",
                        help="directory holding <dataset>-IOB/{train,test}.tsv")
    parser.add_argument("--encoder", default="minilm", help="'minilm' or an HF model directory")
    parser.add_argument("--sentences", type=int, default=320, help="training sentences (first N of train.tsv)")
    parser.add_argument("--eval-sentences", type=int, default=320, help="test sentences for prediction")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of the four trainings; best round kept")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    encoder_dir = minilm_path() if args.encoder == "minilm" else args.encoder
    train, test = load_slice(args.mirror, args.dataset, args.sentences, args.eval_sentences)
    labels = ["O"] + [f"{prefix}-{t}" for t in entity_types_of(train + test) for prefix in ("B", "I")]
    label_ids = {label: index for index, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(encoder_dir)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"{args.dataset}: {len(train)} training / {len(test)} test sentences, encoder {args.encoder}, "
          f"batch {args.batch_size}, max length {args.max_length}, {args.threads} threads, {device}", flush=True)

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="mtbioner-bench-") as tmp:
        work = Path(tmp)
        data = {"train_file": work / "train.jsonl", "test_file": work / "test.jsonl", "labels_file": work / "labels.json"}
        write_examples(data["train_file"], train)
        write_examples(data["test_file"], test)
        write_label_file(data["labels_file"], entity_types_of(train + test))
        features = hf_features(train, tokenizer, label_ids, args.max_length)

        steps = [
            ("a", "HF Trainer, default padding", lambda: hf_trainer_throughput(
                encoder_dir, features, tokenizer, len(labels), args, "random", work)),
            ("a'", "HF Trainer, group_by_length", lambda: hf_trainer_throughput(
                encoder_dir, features, tokenizer, len(labels), args, "group_by_length", work)),
            ("b", "mtbioner, NER only", lambda: ours_throughput(args, data, ["ner"], work)[0]),
            ("c", "mtbioner, 4 tasks joint", lambda: ours_throughput(args, data, ["ner", "mt", "bcls", "mcls"], work)[0]),
        ]
        # Rounds interleave the four trainings so a burst of load from other processes hits all of them
        # alike; each keeps its best round (the least disturbed one), as timeit does.
        for round_number in range(1, args.repeats + 1):
            for key, name, measure in steps:
                value = measure()
                results[key] = max(results.get(key, 0.0), value)
                print(f"  round {round_number} train ({key:2}) {name:30} {value:8.1f} sentences/s", flush=True)
        for key, name, _ in steps:
            print(f"  best   train ({key:2}) {name:30} {results[key]:8.1f} sentences/s")

        # prediction: our length-sorted batches vs the HF pipeline, same weights (the NER-only run's model)
        model, our_tokenizer = load_trained(work / "ours-ner")
        model.to(device)
        sentences = [list(example.tokens) for example in test]
        hf_model = AutoModelForTokenClassification.from_pretrained(encoder_dir, num_labels=len(labels))
        texts = [" ".join(sentence) for sentence in sentences]
        taggers = {"pipeline": pipeline("token-classification", model=hf_model, tokenizer=tokenizer, device=device),
                   "pipeline_batched": pipeline("token-classification", model=hf_model, tokenizer=tokenizer,
                                                device=device, batch_size=64)}
        for _ in range(args.repeats):
            started = time.perf_counter()
            predict(model, our_tokenizer, sentences, batch_size=64)
            results["predict"] = max(results.get("predict", 0.0), len(sentences) / (time.perf_counter() - started))
            # the pipeline as users call it (one sentence at a time), and with the same batch size as ours
            for key, tagger in taggers.items():
                started = time.perf_counter()
                tagger(texts)
                results[key] = max(results.get(key, 0.0), len(texts) / (time.perf_counter() - started))
        print(f"  predict mtbioner.inference.predict (batch 64)      {results['predict']:8.1f} sentences/s")
        print(f"  predict pipeline('token-classification') (default) {results['pipeline']:8.1f} sentences/s")
        print(f"  predict pipeline('token-classification', batch 64) {results['pipeline_batched']:8.1f} sentences/s")

    ratios = {"b/a": results["b"] / results["a"], "b/a'": results["b"] / results["a'"],
              "c/b": results["c"] / results["b"], "predict/pipeline": results["predict"] / results["pipeline"],
              "predict/pipeline_batched": results["predict"] / results["pipeline_batched"]}
    targets = {"b/a": 1.5, "b/a'": 1.0, "c/b": 0.95, "predict/pipeline": 2.0, "predict/pipeline_batched": 1.0}
    print("ratios (target):")
    for key, value in ratios.items():
        print(f"  {key:25} {value:5.2f}  (>= {targets[key]})  {'ok' if value >= targets[key] else 'MISSED'}")
    if args.json:
        args.json.write_text(json.dumps({"config": {k: str(v) for k, v in vars(args).items()},
                                         "sentences_per_second": results, "ratios": ratios}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
