"""Sentence embeddings judged offline (issue 26), each figure computed from the embeddings alone:

* **agreement**: the mean cosine between the teacher's and the student's embedding of the same text;
* **pair classification**, as MTEB's PairClassification scores it: each pair's cosine similarity
  as the score, average precision over the positive pairs (``ap``, MTEB's main figure) and the
  accuracy at the best threshold (``accuracy``, with that ``threshold``); MRPC's dev pairs here;
* **retrieval**: every question of SQuAD dev against all its paragraphs, by cosine: the mean
  reciprocal rank of the question's own paragraph within the first 10 (``mrr@10``) and how often
  it is first (``recall@1``) or within the first 10 (``recall@10``).

An ``encode`` function (texts -> (N, D) array) stands for the model, so that a PyTorch model and an
export are scored by the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from tinybert.errors import TinyBertError

Encode = Callable[[Sequence[str]], np.ndarray]
"""Texts -> their embeddings, (N, D)."""


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Each row of ``x`` (N, D) scaled to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The cosine of each row of ``a`` (N, D) with the same row of ``b`` (N, D): (N,)."""
    if a.shape != b.shape:
        raise ValueError(f"expected embeddings of one shape, got {a.shape} and {b.shape}")
    return np.sum(unit_rows(a) * unit_rows(b), axis=1)


def agreement(teacher: np.ndarray, student: np.ndarray) -> float:
    """Mean cosine between the teacher's and the student's embeddings of the same texts (N, D)."""
    return float(np.mean(cosine_rows(teacher, student)))


def best_threshold_accuracy(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, threshold): the best accuracy of "positive when the score is above a threshold",
    over every threshold between two distinct scores (and below or above all of them)."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order].astype(np.int64)
    n, positives = len(s), int(y.sum())
    true_pos = np.concatenate([[0], np.cumsum(y)])  # (n + 1,): true positives with the first k positive
    k = np.arange(n + 1)
    correct = true_pos + (n - k) - (positives - true_pos)
    cut = np.ones(n + 1, dtype=bool)
    cut[1:n] = s[:-1] != s[1:]  # a threshold can only fall between distinct scores
    best = int(np.argmax(np.where(cut, correct, -1)))
    if best == 0:
        threshold = float(s[0]) + 1e-6
    elif best == n:
        threshold = float(s[-1]) - 1e-6
    else:
        threshold = float(s[best - 1] + s[best]) / 2
    return float(correct[best]) / n, threshold


def pair_classification(a: np.ndarray, b: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Cosine of each pair of embeddings (N, D) against its 0/1 ``labels`` (N,): ``ap``,
    ``accuracy`` and ``threshold``."""
    scores = cosine_rows(a, b)
    accuracy, threshold = best_threshold_accuracy(scores, labels)
    return {"ap": float(average_precision_score(labels, scores)), "accuracy": accuracy, "threshold": threshold}


def retrieval(queries: np.ndarray, documents: np.ndarray, relevant: np.ndarray, chunk: int = 1024) -> dict[str, float]:
    """Rank every document (M, D) for each query (Q, D) by cosine; ``relevant`` (Q,): the index of
    each query's one relevant document. A document scored equal to the relevant one ranks after it."""
    docs = unit_rows(documents)
    ranks = np.empty(len(queries), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        scores = unit_rows(queries[start : start + chunk]) @ docs.T  # (q, M)
        mine = scores[np.arange(len(scores)), relevant[start : start + chunk]]
        ranks[start : start + chunk] = 1 + np.sum(scores > mine[:, None], axis=1)
    return {
        "mrr@10": float(np.mean(np.where(ranks <= 10, 1.0 / ranks, 0.0))),
        "recall@1": float(np.mean(ranks == 1)),
        "recall@10": float(np.mean(ranks <= 10)),
    }


@dataclass(frozen=True)
class Pairs:
    """Sentence pairs with 0/1 labels (1: the same meaning)."""

    first: list[str]
    second: list[str]
    labels: np.ndarray


@dataclass(frozen=True)
class Retrieval:
    """Questions, the paragraphs they are asked about, and each question's paragraph index."""

    questions: list[str]
    paragraphs: list[str]
    relevant: np.ndarray


def mrpc_pairs(data_dir: str | Path) -> Pairs:
    """MRPC's dev pairs (``dev.tsv`` of the GLUE MRPC folder, or of a GLUE root holding ``MRPC/``)."""
    from tinybert.data.readers import load_glue

    dev = load_glue("mrpc", data_dir, splits=("dev",)).evals["dev"]
    labels = np.array([ex.label == "equivalent" for ex in dev], dtype=np.int64)
    return Pairs([ex.text_a for ex in dev], [str(ex.text_b) for ex in dev], labels)


def squad_retrieval(path: str | Path, max_questions: int | None = None) -> Retrieval:
    """SQuAD's questions (the first ``max_questions``) against every paragraph of the file."""
    from tinybert.tasks.span import read_squad

    examples = read_squad(Path(path))
    if not examples:
        raise TinyBertError(f"{path}: no questions")
    paragraphs: dict[str, int] = {}
    for example in examples:
        paragraphs.setdefault(example.context, len(paragraphs))
    chosen = examples[:max_questions] if max_questions is not None else examples
    relevant = np.array([paragraphs[ex.context] for ex in chosen], dtype=np.int64)
    return Retrieval([ex.question for ex in chosen], list(paragraphs), relevant)


def score_pairs(encode: Encode, pairs: Pairs) -> dict[str, float]:
    """:func:`pair_classification` of the model behind ``encode`` on ``pairs``."""
    return pair_classification(encode(pairs.first), encode(pairs.second), pairs.labels)


def score_retrieval(encode: Encode, data: Retrieval) -> dict[str, float]:
    """:func:`retrieval` of the model behind ``encode`` on ``data``."""
    return retrieval(encode(data.questions), encode(data.paragraphs), data.relevant)
