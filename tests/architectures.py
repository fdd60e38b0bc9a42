"""Tiny random models of every architecture in the compatibility matrix, built offline.

Each architecture is built from its Hugging Face config class (hidden 32, 2 or 4 layers, 4 heads),
with a WordPiece tokenizer over :data:`builders.VOCAB` that returns the inputs the architecture
takes (no ``token_type_ids`` for RoBERTa-style, DistilBERT, MPNet and ModernBERT models).
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    AlbertConfig,
    AutoModelForSequenceClassification,
    BertConfig,
    BertTokenizerFast,
    DebertaConfig,
    DebertaV2Config,
    DistilBertConfig,
    ElectraConfig,
    ModernBertConfig,
    MPNetConfig,
    PretrainedConfig,
    RobertaConfig,
    XLMRobertaConfig,
)

from builders import VOCAB

SPECIAL_IDS = {"pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3}


def _common(layers: int, hidden: int) -> dict:
    return {
        "vocab_size": len(VOCAB),
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "intermediate_size": 2 * hidden,
        "max_position_embeddings": 64,
        **SPECIAL_IDS,
    }


def arch_config(arch: str, layers: int = 4, hidden: int = 32) -> PretrainedConfig:
    """The tiny config of ``arch`` (a key of :data:`ARCHITECTURES`)."""
    common = _common(layers, hidden)
    if arch == "bert":
        return BertConfig(**common)
    if arch == "distilbert":
        return DistilBertConfig(
            vocab_size=len(VOCAB),
            dim=hidden,
            n_layers=layers,
            n_heads=4,
            hidden_dim=2 * hidden,
            max_position_embeddings=64,
            pad_token_id=0,
        )
    if arch == "roberta":
        return RobertaConfig(**common, type_vocab_size=1)
    if arch == "xlm-roberta":
        return XLMRobertaConfig(**common, type_vocab_size=1)
    if arch == "albert":
        return AlbertConfig(**common, embedding_size=16)
    if arch == "electra":
        return ElectraConfig(**common, embedding_size=16)
    if arch == "deberta-v2":
        return DebertaV2Config(**common, relative_attention=True, position_buckets=16, pos_att_type=["p2c", "c2p"])
    if arch == "deberta-v3":  # v2's class with v3's settings: shared attention keys, normed relative embeddings
        return DebertaV2Config(
            **common,
            relative_attention=True,
            position_buckets=16,
            pos_att_type=["p2c", "c2p"],
            share_att_key=True,
            norm_rel_ebd="layer_norm",
        )
    if arch == "mpnet":
        return MPNetConfig(**common)
    if arch == "deberta":  # DeBERTa v1: outside the matrix, its attention is neither interfaced nor captured
        return DebertaConfig(**common, relative_attention=True, pos_att_type=["p2c", "c2p"])
    if arch == "modernbert":
        return ModernBertConfig(**common, cls_token_id=2, sep_token_id=3, global_attn_every_n_layers=2)
    raise KeyError(arch)


ARCHITECTURES = (
    "bert",
    "distilbert",
    "roberta",
    "xlm-roberta",
    "albert",
    "electra",
    "deberta-v2",
    "deberta-v3",
    "mpnet",
    "modernbert",
)
"""The compatibility matrix's architectures (model_type-like names)."""

NO_TOKEN_TYPES = {"distilbert", "roberta", "xlm-roberta", "mpnet", "modernbert"}
OWN_ATTENTION = {"deberta-v2", "deberta-v3", "mpnet"}
"""Architectures whose HF class computes attention in its own code: scores captured by hooks
(models/own_scores.py); no padding-free packing."""


def arch_tokenizer(arch: str) -> BertTokenizerFast:
    names = ["input_ids", "attention_mask"] if arch in NO_TOKEN_TYPES else None
    kwargs = {"model_input_names": names} if names else {}
    return BertTokenizerFast(vocab={w: i for i, w in enumerate(VOCAB)}, do_lower_case=True, **kwargs)


def make_arch_model(
    folder: Path,
    arch: str,
    layers: int = 4,
    hidden: int = 32,
    labels: tuple[str, ...] | None = ("negative", "positive"),
    seed: int = 0,
) -> Path:
    """A tiny random sequence classifier of ``arch`` with its tokenizer, saved as a plain HF folder."""
    torch.manual_seed(seed)
    config = arch_config(arch, layers, hidden)
    names = labels or ("LABEL_0",)
    config.num_labels = len(names)
    config.id2label = dict(enumerate(names))
    config.label2id = {n: i for i, n in enumerate(names)}
    config.problem_type = "regression" if labels is None else "single_label_classification"
    AutoModelForSequenceClassification.from_config(config).save_pretrained(folder)
    arch_tokenizer(arch).save_pretrained(folder)
    return folder
