"""Sentence embeddings: the ``embedding`` task type, and the figures that judge an embedding model.

The task type (``--task-type embedding``): the examples are passages of unlabelled text, the
head is a sentence-transformers model's (:class:`~tinybert.tasks.sentence.SentenceEmbedder`), the
one prediction view is the sentence embedding (B, D) and the soft loss the squared distance to the
teacher's embedding, summed over dimensions and averaged over the batch (2 - 2 cos for normalised
embeddings). A dev passage carries the teacher's embedding as its target once the teacher has
embedded it; the dev figure is the agreement of the two.

The figures, each computed from the embeddings alone:

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

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from sklearn.metrics import average_precision_score
from transformers import DataCollatorWithPadding, PretrainedConfig

from tinybert.config import DataConfig
from tinybert.data.glue import TaskSpec
from tinybert.data.readers import TaskData
from tinybert.errors import TinyBertError
from tinybert.tasks.base import Collator, View, register_task_type
from tinybert.tasks.sentence import HEAD_RECORD, SentenceEmbedder, is_sentence_folder

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


FIGURES = ("retrieval mrr@10", "retrieval recall@1", "retrieval recall@10", "pairs ap", "pairs accuracy", "agreement")
"""One model's figures by name, as a recipe's report lists them (:func:`flat_figures`), the main one first."""


FIGURES_NOTE = (
    "Sentence embeddings: retrieval = each SQuAD question against all paragraphs by cosine (MRR@10, "
    "recall@1 and @10 of its own paragraph); pairs = MRPC pairs scored by cosine (average precision, "
    "best-threshold accuracy), as MTEB's pair classification; agreement = mean teacher-model cosine on "
    "the dev text. Retention = the model's figure / the teacher's."
)
"""What :data:`FIGURES` measure, in a sentence (a report prints it under their table)."""


def flat_figures(groups: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """``evaluate``'s figures by group (``{"retrieval": {"mrr@10": ..}, "dev": {"agreement": ..}}``)
    as one mapping named as :data:`FIGURES` (``retrieval mrr@10``; the dev agreement as
    ``agreement``), in that order; the threshold and the reference's figures are left out."""
    flat = {f"{group} {name}": value for group, values in groups.items() for name, value in values.items()}
    flat |= {"agreement": groups["dev"]["agreement"]} if "agreement" in groups.get("dev", {}) else {}
    return {name: float(flat[name]) for name in FIGURES if name in flat}


# ---------------------------------------------------------------------------------------------
# The task type

SPEC = TaskSpec(
    name="embedding",
    is_regression=False,
    label_names=None,
    main_metric="agreement",
    max_seq_length=128,
    is_pair=False,
    train_file=None,
)
"""Unlabelled passages; the dev figure is the teacher-student agreement."""
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json")


@dataclass(frozen=True)
class Passage:
    """One text to embed; ``target``: the teacher's embedding (D,), once the teacher has embedded it."""

    text: str
    target: np.ndarray | None = None


def read_passages(path: str | Path, text_columns: Sequence[str] = (), limit: int | None = None) -> list[Passage]:
    """The passages of a file: each text field of a CSV/TSV/JSONL file's rows (``text_columns``),
    else every non-empty line of a text file or a corpus (general-distill's formats: plain lines,
    blank-line documents, wikiextractor's ``<doc>`` files; a folder: its files). ``limit``: the
    first that many only (the rest is not read)."""
    from tinybert.data.corpus import Corpus
    from tinybert.data.rows import table_source

    if Path(path).suffix.lower() in TABLE_SUFFIXES:
        if not text_columns:
            raise TinyBertError(f"{path}: give --text-column: the column (or JSON key) holding the text to embed")
        source = table_source(path, text_columns)
        texts = (text for row in source.rows() for text in row.texts if text.strip())
    else:
        documents = Corpus.open([str(path)]).documents()
        texts = (line.strip() for _, _, doc in documents for line in doc.splitlines() if line.strip())
    return [Passage(text) for text in itertools.islice(texts, limit)]


class EmbeddingTask:
    """The sentence-embedding task type (see the module docstring)."""

    name = "embedding"
    architecture = "SentenceEmbedder"
    """The head class's name: a saved model is found by :meth:`claims` instead (a
    sentence-transformers folder's architecture can be anything, e.g. ``MPNetForMaskedLM``)."""
    head_class = SentenceEmbedder
    pipeline_task = "feature-extraction"
    output_names = ("sentence_embedding",)
    prediction_columns = ("embedding",)
    array_column = "embedding"
    """``predict --output X.npy`` writes this column of every row as one (N, D) array."""
    has_labels = False

    parity_bars = MappingProxyType({"fp32": 0.9999, "int8": 0.95})
    """The export's lowest cosine allowed between an exported and the PyTorch embedding of one text.
    int8: all-MiniLM-L6-v2's int8 ONNX export has a lowest cosine of 0.961 on the 32 built-in
    sentences (mean 0.990) and keeps 99.6% of its SQuAD retrieval MRR@10 (BENCHMARKS.md)."""

    def claims(self, config: PretrainedConfig, folder: str | Path | None = None) -> bool:
        """A sentence embedder: saved by tinybert (its config records the head), or a
        sentence-transformers folder (``modules.json``)."""
        return isinstance(getattr(config, HEAD_RECORD, None), dict) or (
            folder is not None and is_sentence_folder(folder)
        )

    def sample_rows(self, path: str | Path, text_columns: Sequence[str], limit: int) -> list[list[str]]:
        """The export parity check's texts from ``--sample-file``: its first ``limit`` passages, read
        as ``--train`` is (a text file, a corpus, or a table's ``--text-column``)."""
        return [[p.text] for p in read_passages(path, text_columns, limit)]

    def model_max_seq_length(self, config: PretrainedConfig) -> int | None:
        """The token limit the model's head records (sentence-transformers' ``max_seq_length``,
        which ``SentenceTransformer.encode`` truncates at), so that ``predict`` and ``evaluate``
        of a PyTorch model or its export embed long texts as the library does."""
        record = getattr(config, HEAD_RECORD, None)
        return record.get("max_seq_length") if isinstance(record, dict) else None

    def parity_similarity(self, reference: np.ndarray, exported: np.ndarray) -> float:
        """The cosine of one text's embeddings (D,) from the PyTorch model and from the export."""
        return float(cosine_rows(reference[None], exported[None])[0])

    def read(self, data: DataConfig, need_train: bool) -> TaskData:
        """Passages of ``--train`` (a text file, a corpus, or a table's ``--text-column`` fields,
        e.g. a task's train.tsv); dev: ``--dev``, else the last ``--held-out`` training passages (at
        most a tenth)."""
        options = data.embedding
        given = [f for f, v in (("pairs", options.pairs), ("retrieval", options.retrieval)) if v is not None]
        if given or options.reference is not None:
            name = (given or ["reference"])[0]
            raise TinyBertError(f"--{name}: an option of tinybert evaluate --task-type embedding, not of this command")
        if data.train is None and need_train:
            raise TinyBertError("--train FILE is required: the text to distil on, one passage per line")
        limit = data.max_train_samples
        train = read_passages(data.train, data.text_columns, limit) if need_train and data.train is not None else []
        evals = {"dev": read_passages(data.dev, data.text_columns)} if data.dev is not None else {}
        if data.max_train_samples is not None:
            train = train[: data.max_train_samples]
        if need_train and not evals:
            if len(train) < 2:
                raise TinyBertError(f"--train {data.train}: {len(train)} passages; expected at least 2")
            held = min(data.embedding.held_out, max(1, len(train) // 10))
            train, evals = train[:-held], {"dev": train[-held:]}
        if data.max_eval_samples is not None:
            evals = {k: v[: data.max_eval_samples] for k, v in evals.items()}
        return TaskData(SPEC, train, evals, task_type=self.name)

    def examples_from_texts(self, texts: Sequence[Sequence[str]]) -> list[Passage]:
        if any(len(t) != 1 for t in texts):
            raise TinyBertError("sentence embeddings take one text per row (one --text-column)")
        return [Passage(t[0]) for t in texts]

    def texts(self, example: Passage) -> list[str]:
        return [example.text]

    def featurize(
        self,
        examples: Sequence[Passage],
        tokenizer: Any,
        max_seq_length: int,
        label2id: Mapping[str, int] | None,
        regression: bool = False,
    ) -> list[dict]:
        """Each passage as the model inputs, cut to ``max_seq_length`` tokens; ``example_index``:
        its position in ``examples`` (one feature per passage)."""
        encoded = tokenizer([ex.text for ex in examples], truncation=True, max_length=max_seq_length)
        return [{**{k: v[i] for k, v in encoded.items()}, "example_index": i} for i in range(len(examples))]

    def collator(self, tokenizer: Any) -> Collator:
        return DataCollatorWithPadding(tokenizer=tokenizer, padding="longest", return_tensors="pt")

    def views(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]) -> list[View]:
        return [(outputs["sentence_embedding"], None)]  # (B, D)

    def soft_loss(
        self, student: list[View], teacher: list[torch.Tensor], temperature: float, regression: bool
    ) -> torch.Tensor:
        """Squared distance, summed over the D dimensions, averaged over the batch (2 - 2 cos for
        unit vectors); the temperature does not apply."""
        (s, _), t = student[0], teacher[0]  # (B, D) each
        return ((s.float() - t.float()) ** 2).sum(dim=-1).mean()

    def hard_loss(self, student: list[View], labels: torch.Tensor, regression: bool) -> torch.Tensor:
        raise TinyBertError("sentence embeddings have no labels: leave --loss-weights hard_label at 0")

    def metrics(
        self, spec: TaskSpec, predictions: list[list[np.ndarray]], labels: list[np.ndarray], positive_label: int | None
    ) -> dict[str, float]:
        raise TinyBertError("sentence embeddings are scored against the teacher's embeddings (example_metrics)")

    def example_metrics(
        self, spec: TaskSpec, predictions: list[list[np.ndarray]], examples: Sequence[Passage], features: Sequence[dict]
    ) -> dict[str, float]:
        """``agreement``: the mean cosine of each passage's embedding with the teacher's (its
        ``target``); ``distance``: their mean squared distance (the soft loss)."""
        if any(ex.target is None for ex in examples):
            raise TinyBertError("the dev passages have no teacher embeddings to be scored against")
        student = np.stack([predictions[0][int(f["example_index"])] for f in features])  # (N, D)
        teacher = np.stack([examples[int(f["example_index"])].target for f in features])  # (N, D)
        if student.shape != teacher.shape:
            raise TinyBertError(
                f"the student's embeddings have {student.shape[1]} dimensions, the teacher's {teacher.shape[1]}"
            )
        distance = float(np.mean(np.sum((student - teacher) ** 2, axis=1)))
        return {"agreement": agreement(teacher, student), "distance": distance}

    def postprocess(
        self, predictions: list[list[np.ndarray]], examples: Sequence[Passage], features: Sequence[dict], config: Any
    ) -> list[dict[str, Any]]:
        return [{"embedding": [float(x) for x in vector]} for vector in predictions[0]]

    def with_targets(self, examples: Sequence[Passage], views: list[list[np.ndarray]]) -> list[Passage]:
        """``examples`` with the teacher's embeddings (``views[0][i]``, (D,)) as their targets."""
        return [replace(ex, target=vector) for ex, vector in zip(examples, views[0], strict=True)]

    def head_options(self, data: DataConfig) -> dict[str, Any]:
        """Keywords of :meth:`SentenceEmbedder.from_pretrained`: ``--pooling`` for a plain encoder."""
        return {"pooling": data.embedding.pooling}

    def prepare_student(self, student: SentenceEmbedder, info: dict[str, Any]) -> None:
        """A student cut from its teacher (``kept_hidden``: the teacher dimension of each student
        one) starts its projection as the cut's index map: the pooled student vector placed in the
        teacher dimensions it came from, the others 0 (random otherwise)."""
        projection, kept = student.head.projection, info.get("kept_hidden")
        if projection is None or kept is None:
            return
        linear = projection.linear
        with torch.no_grad():
            linear.weight.zero_()
            linear.bias.zero_()
            linear.weight[torch.tensor(kept), torch.arange(linear.in_features)] = 1.0


EMBEDDING = register_task_type(EmbeddingTask())
