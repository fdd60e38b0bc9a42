"""Builders of tiny random BERT models and self-made task data, all made offline in tmp folders."""

from __future__ import annotations

import io
import os
import random
import sys
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# pytest-xdist runs one worker per core (pyproject's addopts): each worker one thread, no oversubscription
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1) // _WORKERS))

SHARED_DATA = Path(os.environ.get("TINYBERT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))

POSITIVE = ["good", "great", "fine", "nice", "lovely", "superb", "happy", "fun"]
NEGATIVE = ["bad", "awful", "poor", "dull", "boring", "sad", "ugly", "weak"]
FILLER = ["the", "movie", "film", "was", "is", "a", "plot", "story", "very", "really", "and", "it", "this"]
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = SPECIAL + FILLER + POSITIVE + NEGATIVE + [".", ","]


def make_tokenizer() -> BertTokenizerFast:
    """A WordPiece tokenizer over :data:`VOCAB` (transformers 5 takes the vocabulary as ``vocab=``)."""
    return BertTokenizerFast(vocab={word: i for i, word in enumerate(VOCAB)}, do_lower_case=True)


def write_tokenizer(folder: Path) -> BertTokenizerFast:
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer()
    tokenizer.save_pretrained(folder)
    return tokenizer


def make_model(
    folder: Path,
    layers: int = 4,
    hidden: int = 32,
    heads: int = 4,
    intermediate: int = 64,
    labels: tuple[str, ...] | None = ("negative", "positive"),
    seed: int = 0,
    head: bool = True,
    dropout: float = 0.1,
) -> Path:
    """A tiny random BertForSequenceClassification with a tokenizer, saved as a plain HF folder.

    ``head=False`` saves a bare ``BertModel`` encoder instead, like a pre-trained checkpoint.
    """
    torch.manual_seed(seed)
    num_labels = 1 if labels is None else len(labels)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        max_position_embeddings=64,
        num_labels=num_labels,
        id2label={0: "LABEL_0"} if labels is None else dict(enumerate(labels)),
        label2id={"LABEL_0": 0} if labels is None else {n: i for i, n in enumerate(labels)},
        problem_type="regression" if labels is None else "single_label_classification",
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    model = BertForSequenceClassification(config) if head else BertModel(config, add_pooling_layer=True)
    model.save_pretrained(folder)
    write_tokenizer(folder)
    return folder


def sentiment_rows(n: int, seed: int, length: int | None = None) -> list[tuple[str, int]]:
    """Self-made sentences whose label is carried by one sentiment word (``length``: every sentence
    has that many filler words, so all have the same token count)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        label = rng.randrange(2)
        word = rng.choice(POSITIVE if label else NEGATIVE)
        words = [rng.choice(FILLER) for _ in range(length or rng.randint(2, 8))]
        words.insert(rng.randrange(len(words) + 1), word)
        rows.append((" ".join(words) + " .", label))
    return rows


def write_sst2(folder: Path, n_train: int = 64, n_dev: int = 32, length: int | None = None) -> Path:
    """A folder in GLUE SST-2 layout (header ``sentence\\tlabel``) with self-made sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, n, seed in (("train.tsv", n_train, 1), ("dev.tsv", n_dev, 2)):
        lines = ["sentence\tlabel"] + [f"{s}\t{y}" for s, y in sentiment_rows(n, seed, length)]
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


# Word pieces for augmentation tests: "films" = film ##s, "boringly" = boring ##ly (multi-piece words).
WORD_PIECES = ["##s", "##ly", "##ing"]


def make_mlm_model(folder: Path, hidden: int = 32, layers: int = 2, heads: int = 4, seed: int = 0) -> Path:
    """A tiny random BertForMaskedLM (decoder tied to the word embeddings) whose tokenizer knows
    :data:`VOCAB` plus :data:`WORD_PIECES`, saved as a plain HF folder."""
    from transformers import BertForMaskedLM

    torch.manual_seed(seed)
    vocab = VOCAB + WORD_PIECES
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
    )
    BertForMaskedLM(config).save_pretrained(folder)
    BertTokenizerFast(vocab={word: i for i, word in enumerate(vocab)}, do_lower_case=True).save_pretrained(folder)
    return folder


def run_cli(
    args: list, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture | None = None, stdout: bool = False
) -> tuple[int, str]:
    """Run ``tinybert ARGS`` in-process through the CLI's entry point; returns (exit code, stderr).

    ``stdout=True`` returns standard output and standard error together. Without ``capsys`` (e.g. in
    a module-scoped fixture) the streams are captured by patching ``sys.stdout``/``sys.stderr``.
    """
    from tinybert.cli import main

    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "argv", ["tinybert", *map(str, args)])
    if capsys is None:
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    if capsys is not None:
        captured = capsys.readouterr()
        out.write(captured.out)
        err.write(captured.err)
    return code, (out.getvalue() if stdout else "") + err.getvalue()
