"""Turn examples into token ids and batch them with dynamic padding.

:func:`encode` tokenizes texts and text pairs without padding (the sequence task type's
featurize: training, the export parity check and predict all reach it through the task type);
:func:`make_loader` pads each batch to its longest member with the task type's collator
(default ``transformers.DataCollatorWithPadding``), zero-pads any extra feature field, and, for
training, groups examples of similar length into the same batch so little compute is spent on
padding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, RandomSampler, Sampler

from tinybert.data.readers import Example
from tinybert.errors import TinyBertError

__all__ = ["MODEL_INPUT_KEYS", "encode", "make_loader", "model_inputs", "pad_stack"]

MODEL_INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")
LABEL_KEYS = ("labels", "label", "label_ids")
"""Feature keys the task's collator pads (with the model inputs); any other key is an extra field."""
ENCODE_BATCH_SIZE = 1000


def _label_id(label: Any, index: int, label2id: Mapping[str, int] | None, is_regression: bool) -> int | float:
    """The training target of one example: a class id (int) or a regression value (float)."""
    if is_regression:
        try:
            return float(label)
        except (TypeError, ValueError):
            raise TinyBertError(f"example {index}: regression label {label!r} is not a number") from None
    if label2id is None:
        raise TinyBertError("encode: label2id is required to encode classification labels")
    key = label if isinstance(label, str) else str(label)
    if key not in label2id:
        known = ", ".join(repr(k) for k in label2id)
        raise TinyBertError(f"example {index}: label {key!r} is not one of the model's labels ({known})")
    return int(label2id[key])


def _check_examples(examples: Sequence[Example]) -> tuple[bool, bool]:
    """Return ``(is_pair, has_labels)``; both must be the same for every example."""
    pairs = {ex.text_b is not None for ex in examples}
    labelled = {ex.label is not None for ex in examples}
    if len(pairs) > 1:
        raise TinyBertError("encode: examples mix single texts and text pairs")
    if len(labelled) > 1:
        raise TinyBertError("encode: some examples have labels and some do not")
    return pairs == {True}, labelled == {True}


def _check_max_length(tokenizer: Any, max_seq_length: int, is_pair: bool) -> None:
    if isinstance(max_seq_length, bool) or not isinstance(max_seq_length, int):
        raise TinyBertError(f"option max_seq_length: expected an integer, got {max_seq_length!r}")
    special = tokenizer.num_special_tokens_to_add(pair=is_pair)
    if max_seq_length <= special + (1 if is_pair else 0):
        raise TinyBertError(
            f"option max_seq_length: {max_seq_length} leaves no room for text "
            f"({special} special tokens per {'pair' if is_pair else 'sentence'}); use e.g. 128"
        )


def encode(
    examples: Sequence[Example],
    tokenizer: Any,
    max_seq_length: int,
    label2id: Mapping[str, int] | None,
    is_regression: bool,
) -> list[dict]:
    """Tokenize examples, truncated to ``max_seq_length`` and not padded.

    Returns:
        One dict per example with ``input_ids``, ``attention_mask`` and (when the tokenizer
        produces them) ``token_type_ids``, each a list of ``L <= max_seq_length`` ints, plus
        ``labels`` (int class id, or float for regression) when the example has a label.

    Raises:
        TinyBertError: a classification label missing from ``label2id`` (the known labels are
            listed), a too small ``max_seq_length``, or a mix of pairs and single texts.
    """
    if not examples:
        return []
    is_pair, has_labels = _check_examples(examples)
    _check_max_length(tokenizer, max_seq_length, is_pair)
    labels = [_label_id(ex.label, i, label2id, is_regression) for i, ex in enumerate(examples)] if has_labels else None
    features: list[dict] = []
    for start in range(0, len(examples), ENCODE_BATCH_SIZE):
        batch = examples[start : start + ENCODE_BATCH_SIZE]
        texts_a = [ex.text_a for ex in batch]
        if is_pair:
            texts_b = [ex.text_b for ex in batch]
            encoded = tokenizer(texts_a, texts_b, truncation="longest_first", max_length=max_seq_length, padding=False)
        else:
            encoded = tokenizer(texts_a, truncation=True, max_length=max_seq_length, padding=False)
        keys = [key for key in MODEL_INPUT_KEYS if key in encoded]
        for i in range(len(batch)):
            feature = {key: list(encoded[key][i]) for key in keys}
            if labels is not None:
                feature["labels"] = labels[start + i]
            features.append(feature)
    return features


def _sampler(
    features: list[dict], batch_size: int, shuffle: bool, seed: int, group_by_length: bool
) -> Sampler[int] | None:
    """Sampler for :func:`make_loader`; None means sequential order."""
    if not shuffle:
        return None
    generator = torch.Generator()
    generator.manual_seed(seed)
    if not group_by_length:
        return RandomSampler(features, generator=generator)
    from transformers.trainer_pt_utils import LengthGroupedSampler

    lengths = [len(feature["input_ids"]) for feature in features]
    return LengthGroupedSampler(batch_size, lengths=lengths, generator=generator)


def model_inputs(batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's inputs of a batch (labels, cached teacher outputs and extra fields left out)."""
    return {k: v for k, v in batch.items() if k in MODEL_INPUT_KEYS}


def pad_stack(values: Sequence[Any]) -> torch.Tensor:
    """Per-example values (numbers or nested lists of one rank) -> one tensor (B, ...), each
    zero-padded at the end of every dimension to the batch's largest size."""
    tensors = [torch.as_tensor(v) for v in values]
    shape = [max(t.shape[d] for t in tensors) for d in range(tensors[0].dim())]
    out = tensors[0].new_zeros((len(tensors), *shape))
    for i, t in enumerate(tensors):
        out[(i, *(slice(0, n) for n in t.shape))] = t
    return out


class Collate:
    """The task's collator on model inputs and labels; every extra field zero-padded and stacked."""

    def __init__(self, collator: Callable[[list[dict]], dict]) -> None:
        self.collator = collator

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        handled = (*MODEL_INPUT_KEYS, *LABEL_KEYS)
        batch = dict(self.collator([{k: v for k, v in f.items() if k in handled} for f in features]))
        for key in (k for k in features[0] if k not in handled):
            batch[key] = pad_stack([f[key] for f in features])
        return batch


def make_loader(
    features: list[dict],
    tokenizer: Any,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    group_by_length: bool = True,
    collator: Callable[[list[dict]], dict] | None = None,
) -> DataLoader:
    """Batch encoded features, padding each batch to its longest member.

    Each batch is a dict of tensors: ``input_ids``, ``attention_mask`` (and ``token_type_ids``)
    of shape ``(B, L_batch)`` (``L_batch`` = longest example in the batch) and, when present,
    ``labels`` of shape ``(B,)``: ``torch.long`` class ids or ``torch.float32`` regression
    targets.

    With ``shuffle=True`` the order is random but reproducible for a given ``seed``; with
    ``group_by_length`` (default) examples of similar length are batched together
    (``LengthGroupedSampler``). The sampler's generator is seeded once, so successive epochs
    see different (still deterministic) orders. With ``shuffle=False`` examples come in their
    original order. Loading runs in the main process (``num_workers=0``).

    ``collator`` pads model inputs and labels (default ``DataCollatorWithPadding``: the sequence
    task type's); any other feature field (e.g. cached teacher outputs) is zero-padded and stacked
    (:func:`pad_stack`).

    Raises:
        TinyBertError: ``batch_size`` < 1, no features, or a tokenizer without a padding token.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise TinyBertError(f"option batch_size: expected a positive integer, got {batch_size!r}")
    if not features:
        raise TinyBertError("no examples to batch: the dataset is empty")
    if getattr(tokenizer, "pad_token", None) is None:
        raise TinyBertError("the tokenizer has no padding token; set tokenizer.pad_token (e.g. to its [PAD])")
    if collator is None:
        from transformers import DataCollatorWithPadding

        collator = DataCollatorWithPadding(tokenizer=tokenizer, padding="longest", return_tensors="pt")
    return DataLoader(
        features,
        batch_size=batch_size,
        sampler=_sampler(features, batch_size, shuffle, seed, group_by_length),
        collate_fn=Collate(collator),
        num_workers=0,
    )
