"""Hand-made run directories (docs/design.md, "A run directory") for the report tests.

The test set is small and fixed; a "model" is described by which entity sentences it misses and which
entity-free sentences it hallucinates an entity in, so every expected number can be worked out by hand.
metrics.json is computed with the trainer's own scorer (mtbioner.training.evaluate) unless a test overrides it.
"""

from __future__ import annotations

import json
from pathlib import Path

from mtbioner.run.config import RunConfig
from mtbioner.run.directory import run_path
from mtbioner.tasks.scoring import sequence_metrics
from mtbioner.training.evaluate import false_positive_sentence_rate

N_SENTENCES = 30


def gold_sentences() -> list[tuple[list[str], list[str]]]:
    """30 test sentences; every third has no entity, the others one or two Gene entities."""
    out = []
    for i in range(N_SENTENCES):
        if i % 3 == 0:
            out.append((["Cells", "grew", "well", f"({i})", "."], ["O"] * 5))
        elif i % 3 == 1:
            out.append(([f"BRCA{i}", "binds", "tumour", "protein", f"p{i}", "."],
                        ["B-Gene", "O", "B-Gene", "I-Gene", "I-Gene", "O"]))
        else:
            out.append(([f"APC{i}", "is", "mutated", "."], ["B-Gene", "O", "O", "O"]))
    return out


def predictions(miss: set[int] = frozenset(), spurious: set[int] = frozenset()) -> list[list[str]]:
    """Predicted tags: gold, except sentences in `miss` lose their first entity and entity-free sentences in
    `spurious` get a one-word entity on their first word."""
    out = []
    for i, (tokens, tags) in enumerate(gold_sentences()):
        tags = list(tags)
        if i in miss and tags[0] == "B-Gene":
            tags[0] = "O"
        if i in spurious and all(t == "O" for t in tags):
            tags[0] = "B-Gene"
        out.append(tags)
    return out


def write_run(root: Path, dataset: str, experiment: str, fraction: int = 100, seed: int = 13,
              pred: list[list[str]] | None = None, metrics: dict | None = None, epochs: list[dict] | None = None,
              tasks: tuple[str, ...] = ("ner", "mt", "bcls", "mcls"), gold=None, variant: str = "",
              encoder: str = "tiny", epochs_configured: int = 3) -> Path:
    """A run directory under root/runs/ laid out as the workflow's (`run_path`: a variant's runs beside the
    plain ones as experiment@variant); its config.json is checked by RunConfig."""
    gold = gold or gold_sentences()
    pred = pred if pred is not None else [tags for _, tags in gold]
    run_dir = Path(run_path(str(root), dataset, experiment, fraction, seed, variant))
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {"dataset": dataset, "experiment": experiment, "variant": variant, "fraction": fraction, "seed": seed,
              "encoder": encoder, "tasks": list(tasks), "main_task": tasks[0], "epochs": epochs_configured, "learning_rate": 5e-5,
              "batch_size": 32, "max_length": 64, "loss_weights": {t: 1.0 for t in tasks},
              "train_file": "train.jsonl", "test_file": "test.jsonl", "labels_file": "labels.json"}
    RunConfig.validated(config, origin=str(run_dir / "config.json"))  # a valid run config, as the trainer writes
    (run_dir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if metrics is None:
        metrics = {}
        if "ner" in tasks:
            metrics["ner"] = sequence_metrics([t for _, t in gold], pred)
            metrics["false_positive_sentence_rate"] = false_positive_sentence_rate([t for _, t in gold], pred)
    if epochs is None:
        epochs = [{**metrics, "epoch": e, "train_loss": 1.0 / e} for e in (1, 2, 3)]
    (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (run_dir / "epochs.jsonl").write_text("".join(json.dumps(e) + "\n" for e in epochs), encoding="utf-8")
    if "ner" in tasks:
        lines = []
        for (tokens, gold_tags), pred_tags in zip(gold, pred):
            lines += [f"{w}\t{g}\t{p}" for w, g, p in zip(tokens, gold_tags, pred_tags)] + [""]
        (run_dir / "test_predictions.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_dir
