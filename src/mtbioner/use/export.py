"""`mtbioner export`: a trained run as a plain HF token-classification model.

The multi-task model's NER path is "encoder -> dropout -> linear head", which is exactly what
`BertForTokenClassification` (and the other `*ForTokenClassification` classes of transformers built as
"base model -> dropout -> classifier") computes. Export therefore builds the token-classification class of the
encoder's family from the encoder's config (plus `id2label`/`label2id`), copies the encoder weights into its
base model and the NER head into its `classifier`, checks on a probe input that both give the same logits,
and writes it with `save_pretrained` together with the tokenizer. The result loads with
`AutoModelForTokenClassification.from_pretrained(dir)` and `pipeline("token-classification", model=dir)`
and needs nothing from mtbioner. Only NER is exported: the other heads have no standard HF class.

A family whose token-classification class is shaped differently (no single linear `classifier` outside the
base model, or logits that differ after the copy) is refused with a clear error instead of exporting a model
that would predict something else.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import nn

from mtbioner.atomicio import atomic_directory
from mtbioner.errors import MtbionerError
from mtbioner.run.directory import model_directory
from mtbioner.tasks import NER

#: Extra key in the exported config.json: what `mtbioner predict` needs to use the export like a run.
CONFIG_KEY = "mtbioner"
#: Probe used to check the export: a few words that every WordPiece/BPE vocabulary can encode.
_PROBE_WORDS = ["Mutations", "in", "the", "TGF", "-", "beta1", "gene", "(", "IL", "-", "2", ")", "."]
_TOLERANCE = 1e-4


def _classifier_of(tc_model: nn.Module, base: nn.Module, num_labels: int) -> nn.Linear:
    """The one linear layer outside the base model mapping hidden states to the labels, or an error."""
    base_params = {id(parameter) for parameter in base.parameters()}
    outside = [name for name, parameter in tc_model.named_parameters() if id(parameter) not in base_params]
    linears = [module for name, module in tc_model.named_modules()
               if isinstance(module, nn.Linear) and all(id(p) not in base_params for p in module.parameters())]
    hidden = tc_model.config.hidden_size
    if (len(linears) != 1 or len(outside) != len(list(linears[0].parameters()))
            or linears[0].in_features != hidden or linears[0].out_features != num_labels):
        raise MtbionerError(f"{type(tc_model).__name__} is not 'encoder -> dropout -> linear classifier' "
                            f"(parameters outside the encoder: {outside}); export supports encoder families "
                            "whose token-classification head is a single linear layer, such as BERT")
    return linears[0]


def _token_classification_model(config):
    from transformers import AutoModelForTokenClassification

    try:
        return AutoModelForTokenClassification.from_config(config)
    except (ValueError, KeyError) as error:
        raise MtbionerError(f"encoder type {config.model_type!r} has no AutoModelForTokenClassification "
                            f"class in transformers ({str(error).splitlines()[0]})") from None


def _exported_config(model, run: str | Path):
    labels = list(model.ner_labels)
    config = copy.deepcopy(model.encoder.config)
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {label: index for index, label in enumerate(labels)}
    # BERT-like heads use `classifier_dropout` when set; keep the run's dropout (inactive at inference anyway)
    config.classifier_dropout = model.dropout_rate
    setattr(config, CONFIG_KEY, {"max_length": model.max_length, "source_run": str(run),
                                 "trained_tasks": list(model.tasks)})
    return config


def build_token_classification_model(model, run: str | Path = ""):
    """An HF `*ForTokenClassification` model holding `model`'s encoder and NER head (weights copied)."""
    if NER not in model.tasks:
        raise MtbionerError(f"{run}: the run has no NER head (tasks {list(model.tasks)}); nothing to export")
    tc_model = _token_classification_model(_exported_config(model, run))
    base = getattr(tc_model, tc_model.base_model_prefix, None)
    if base is None:
        raise MtbionerError(f"{type(tc_model).__name__} has no base model {tc_model.base_model_prefix!r}")
    missing, unexpected = base.load_state_dict(model.encoder.state_dict(), strict=False)
    # Token-classification classes drop the sentence pooler; anything else left over means a mismatch.
    unexpected = [key for key in unexpected if not key.startswith("pooler.")]
    if missing or unexpected:
        raise MtbionerError(f"encoder weights do not fit {type(tc_model).__name__}: missing {missing[:5]}, "
                            f"unexpected {unexpected[:5]}")
    classifier = _classifier_of(tc_model, base, len(model.ner_labels))
    classifier.load_state_dict(model.heads[NER].state_dict())
    tc_model.eval()
    return tc_model


@torch.inference_mode()
def check_same_logits(model, tc_model, tokenizer) -> float:
    """Largest absolute NER-logit difference of the two models on a probe sentence; raises above tolerance."""
    was_training = model.training
    model.eval()
    tc_model.eval()
    try:
        encoded = tokenizer(_PROBE_WORDS, is_split_into_words=True, return_tensors="pt")
        ours = model(encoded["input_ids"], encoded["attention_mask"], tasks=[NER])[NER]
        theirs = tc_model(input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"]).logits
    finally:
        model.train(was_training)
    difference = float((ours - theirs).abs().max())
    if difference > _TOLERANCE:
        raise MtbionerError(f"exported {type(tc_model).__name__} does not reproduce the NER head "
                            f"(max logit difference {difference:.2e}); this encoder family cannot be exported")
    return difference


def export_token_classification(run: str | Path, out_dir: str | Path) -> Path:
    """Write the NER model of `run` (run dir or its model/ dir) to `out_dir` as a standard HF model.

    `out_dir` is replaced as a whole, atomically: it is built next to the target and moved into place.
    """
    from mtbioner.model.inference import load_trained

    model, tokenizer = load_trained(model_directory(run))
    tc_model = build_token_classification_model(model, run)
    check_same_logits(model, tc_model, tokenizer)
    tc_model.config.architectures = [type(tc_model).__name__]
    target = Path(out_dir)
    with atomic_directory(target) as staging:
        tc_model.save_pretrained(staging)
        # The tokenizer keeps its own model_max_length (the encoder's limit): lowering it to the training
        # max_length would make the pipeline truncate sentences that `mtbioner predict` windows instead.
        tokenizer.save_pretrained(staging)
    return target


def is_exported_model(path: str | Path) -> bool:
    """Whether `path` holds an HF token-classification model (an export, or any such HF model)."""
    config_file = Path(path) / "config.json"
    if not config_file.is_file():
        return False
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return any(name.endswith("ForTokenClassification") for name in config.get("architectures") or [])


def load_exported(path: str | Path):
    """`(MultiTaskModel with only the NER task, tokenizer)` from an exported (or any compatible HF) model.

    The inverse of `export_token_classification`, so `mtbioner predict` runs on an export exactly as on the
    run it came from.
    """
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from mtbioner.model.encoders import LOAD_DTYPE
    from mtbioner.model.multitask import MultiTaskModel

    try:
        tc_model = AutoModelForTokenClassification.from_pretrained(path, dtype=LOAD_DTYPE)  # fp32 as every load
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as error:
        raise MtbionerError(f"{path}: cannot load the token-classification model "
                            f"({str(error).strip().splitlines()[0]})") from None
    config = tc_model.config
    labels = [config.id2label[index] for index in range(config.num_labels)]
    base = getattr(tc_model, tc_model.base_model_prefix)
    classifier = _classifier_of(tc_model, base, len(labels))
    meta = getattr(config, CONFIG_KEY, None) or {}
    max_length = int(meta.get("max_length") or min(tokenizer.model_max_length, config.max_position_embeddings))
    # classifier_dropout: what our exports record; None (another model's export): MultiTaskModel's default
    model = MultiTaskModel(base, [NER], labels, dropout=getattr(config, "classifier_dropout", None),
                           max_length=max_length)
    model.heads[NER].load_state_dict(classifier.state_dict())
    model.eval()
    return model, tokenizer


def pipeline_word_tags(pipe, sentences: list[list[str]], batch_size: int = 1) -> list[list[str]]:
    """Word tags from a transformers token-classification `pipe` read the way mtbioner reads its model: the
    tag of each word's first sub-token. Each sentence is given to the pipeline as its words joined by spaces;
    `pipe` must be built with ``aggregation_strategy="none", ignore_labels=[]`` so every sub-token comes back.
    """
    texts, starts = [], []
    for words in sentences:
        positions, position = [], 0
        for word in words:
            positions.append(position)
            position += len(word) + 1
        texts.append(" ".join(words))
        starts.append(positions)
    outputs = pipe(texts, batch_size=batch_size) if texts else []
    tags = []
    for words, positions, pieces in zip(sentences, starts, outputs):
        first_piece = {}
        for piece in pieces:
            first_piece.setdefault(piece["start"], piece["entity"])
        missing = [word for word, position in zip(words, positions) if position not in first_piece]
        if missing:
            raise MtbionerError(f"the pipeline returned no sub-token for {missing[:3]} (sentence too long for "
                                "its tokenizer's model_max_length?)")
        tags.append([first_piece[position] for position in positions])
    return tags
