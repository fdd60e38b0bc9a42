"""Vocabulary pruning: keep the word pieces a task uses, rewrite the embedding table and the
tokenizer consistently.

The kept pieces are the special tokens, every piece of the given texts (the training data), and
optionally the ``top`` most frequent pieces of a corpus. The embedding rows are taken by index, in
the original order, and the fast WordPiece tokenizer gets the same pieces with the new ids. A word
whose original pieces are all kept is split exactly as before (WordPiece takes the longest kept
prefix, and the original longest prefix is still there), so text inside the kept vocabulary gives
identical ids up to renumbering, hence identical logits (tested). A word that cannot be spelled
with the kept pieces becomes [UNK] (WordPiece's rule for a word it cannot split).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tinybert.errors import TinyBertError

ID_FIELDS = ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id", "unk_token_id")
"""Config fields holding token ids, renumbered with the vocabulary."""


log = logging.getLogger(__name__)


def piece_counts(tokenizer: PreTrainedTokenizerBase, texts: Iterable[str], batch: int = 1000) -> Counter[int]:
    """How often each token id occurs in ``texts`` (special tokens not counted)."""
    counts: Counter[int] = Counter()
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == batch:
            for ids in tokenizer(chunk, add_special_tokens=False)["input_ids"]:
                counts.update(ids)
            chunk = []
    if chunk:
        for ids in tokenizer(chunk, add_special_tokens=False)["input_ids"]:
            counts.update(ids)
    return counts


def kept_ids(
    tokenizer: PreTrainedTokenizerBase, used: Counter[int], corpus: Counter[int] | None = None, top: int = 0
) -> list[int]:
    """Sorted ids to keep: the special and added tokens, every id in ``used``, and the ``top`` most
    frequent ids of ``corpus``."""
    keep = set(tokenizer.all_special_ids) | set(tokenizer.added_tokens_decoder) | set(used)
    if corpus is not None and top > 0:
        keep |= {i for i, _ in corpus.most_common(top)}
    return sorted(keep)


@dataclass(frozen=True)
class VocabReport:
    before: int
    after: int
    embedding_parameters_before: int
    embedding_parameters_after: int


def _remap_tokenizer_json(data: dict, new_id: dict[int, int]) -> dict:
    model = data.get("model", {})
    if model.get("type") != "WordPiece":
        raise TinyBertError(
            f"--prune-vocab: the tokenizer is {model.get('type')}; only WordPiece tokenizers (BERT family) "
            "can be pruned"
        )
    vocab = model["vocab"]
    model["vocab"] = {tok: new_id[i] for tok, i in sorted(vocab.items(), key=lambda kv: kv[1]) if i in new_id}
    for added in data.get("added_tokens") or []:
        if added["id"] not in new_id:
            raise TinyBertError(f"--prune-vocab: added token {added['content']!r} was not kept")
        added["id"] = new_id[added["id"]]
    post = data.get("post_processor")
    processors = [post] if post and post.get("type") != "Sequence" else (post or {}).get("processors", [])
    for proc in processors:
        kind = proc.get("type")
        if kind == "TemplateProcessing":
            for special in proc.get("special_tokens", {}).values():
                special["ids"] = [new_id[i] for i in special["ids"]]
        elif kind in ("BertProcessing", "RobertaProcessing"):
            for key in ("sep", "cls"):
                token, i = proc[key]
                proc[key] = [token, new_id[i]]
        elif kind not in ("ByteLevel",):
            raise TinyBertError(f"--prune-vocab: unsupported tokenizer post-processor {kind}")
    return data


def prune_tokenizer(tokenizer: PreTrainedTokenizerBase, keep: list[int]) -> PreTrainedTokenizerBase:
    """The tokenizer with only the ``keep`` ids (renumbered 0..len-1 in their order)."""
    if not getattr(tokenizer, "is_fast", False):
        raise TinyBertError("--prune-vocab: needs a fast (tokenizer.json) tokenizer")
    new_id = {old: new for new, old in enumerate(keep)}
    data = _remap_tokenizer_json(json.loads(tokenizer.backend_tokenizer.to_str()), new_id)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        (Path(tmp) / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False))
        vocab_txt = Path(tmp) / "vocab.txt"
        if vocab_txt.exists():
            vocab_txt.write_text("".join(tok + "\n" for tok in data["model"]["vocab"]))
        pruned = AutoTokenizer.from_pretrained(tmp)
    if len(pruned) != len(keep):
        raise TinyBertError(f"--prune-vocab: rewritten tokenizer has {len(pruned)} tokens, expected {len(keep)}")
    return pruned


@torch.no_grad()
def prune_embeddings(model: PreTrainedModel, keep: list[int]) -> None:
    """Keep the ``keep`` rows of ``model``'s input embeddings (in place), renumbering the config's ids."""
    if model.get_output_embeddings() is not None:
        raise TinyBertError("--prune-vocab: a model with an output vocabulary layer (MLM head) is not supported")
    old = model.get_input_embeddings()
    index = torch.tensor(keep, dtype=torch.long)
    new_id = {o: n for n, o in enumerate(keep)}
    pad = model.config.pad_token_id if isinstance(model.config.pad_token_id, int) else None
    table = nn.Embedding(
        len(keep), old.embedding_dim, padding_idx=new_id.get(pad) if old.padding_idx is not None else None
    )
    table.weight.copy_(old.weight.index_select(0, index))
    table.to(old.weight.dtype)
    model.set_input_embeddings(table)
    model.config.vocab_size = len(keep)
    for name in ID_FIELDS:
        value = getattr(model.config, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            if value not in new_id:
                raise TinyBertError(f"--prune-vocab: {name} {value} was not kept")
            setattr(model.config, name, new_id[value])
    padding_idx = getattr(getattr(model.base_model, "embeddings", None), "padding_idx", None)
    if isinstance(padding_idx, int) and padding_idx != new_id.get(padding_idx, padding_idx):
        raise TinyBertError("--prune-vocab: the position ids depend on the padding id, which would change")


def prune_vocabulary(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, keep: list[int]
) -> tuple[PreTrainedTokenizerBase, VocabReport]:
    """Prune ``model``'s embeddings (in place) and return the matching tokenizer and a report."""
    before = model.get_input_embeddings().weight.shape
    if len(tokenizer) != before[0]:
        raise TinyBertError(
            f"--prune-vocab: the tokenizer has {len(tokenizer)} tokens, the embedding table {before[0]} rows"
        )
    pruned = prune_tokenizer(tokenizer, keep)
    prune_embeddings(model, keep)
    return pruned, VocabReport(before[0], len(keep), before[0] * before[1], len(keep) * before[1])


def dropped_share(
    tokenizer: PreTrainedTokenizerBase, keep: list[int], splits: dict[str, list[dict]], option: str
) -> dict[str, float]:
    """Per split: the share of its word pieces (special tokens not counted) outside ``keep``, which the
    pruned tokenizer re-spells or maps to [UNK]. Warns when a split loses more than 1%: its metric
    after pruning measures the pruned vocabulary, not the model (held-out words are the usual cause)."""
    kept, special = set(keep), set(tokenizer.all_special_ids)
    shares = {}
    for name, features in splits.items():
        pieces = [i for f in features for i in f["input_ids"] if i not in special]
        shares[name] = round(sum(i not in kept for i in pieces) / max(len(pieces), 1), 4)
        if shares[name] > 0.01:
            log.warning(
                "%s: %.1f%% of the %s split's word pieces are not in the kept vocabulary and become [UNK] or are "
                "re-spelled; keep more with tinybert prune --vocab-corpus/--vocab-top, or leave the vocabulary whole",
                option, 100 * shares[name], name,
            )  # fmt: skip
    return shares


def data_ids(
    tokenizer: PreTrainedTokenizerBase, train: Iterable[dict], corpus: Counter[int] | None = None, top: int = 0
) -> list[int]:
    """Sorted ids to keep for a data set: the pieces of the tokenised training examples ``train`` (each
    with ``input_ids``; the one tokenisation path), the special tokens, and the ``top`` most frequent
    pieces of ``corpus`` (default: of the training data)."""
    used = Counter(i for example in train for i in example["input_ids"])
    return kept_ids(tokenizer, used, used if corpus is None else corpus, top)
