"""Extractive question answering (SQuAD v1.1 / v2.0): the answer is a span of the context.

Data: ``--task squad`` / ``--task squad_v2`` with ``--data-dir D`` (``train-v1.1.json`` /
``dev-v1.1.json``, ``train-v2.0.json`` / ``dev-v2.0.json``), or generic files with
``--task-type span --train F --dev F``: SQuAD-format JSON (``.json``) or JSONL (``.jsonl``) with
``question``, ``context`` and ``answers`` (``{"text": [...], "answer_start": [...]}`` as in
Hugging Face datasets, or a list of ``{"text", "answer_start"}``; empty or missing: no answer).
An answer whose characters are not the context's at ``answer_start`` is moved to the nearest place
where its text occurs in the context, or, when nowhere, kept as a gold text for the metrics but not
used as a training span; both are counted and reported (a warning naming the file and the first
question id), never silently dropped.

Windows: ``question [SEP] context`` cut into overlapping windows of ``--max-seq-length`` tokens with
``--doc-stride`` tokens of overlap (as ``transformers``' ``run_qa.py`` and question-answering
pipeline use the tokenizer's ``stride``); questions are cut to ``--max-query-length`` tokens. A fast
tokenizer gives each token's character offsets. A window that does not hold the whole answer (or an
impossible question) is labelled with the CLS position for start and end.

Views: two per-position views (start, end), scores (B, L) each, and one mask (B, L) that keeps the
window's context tokens and its CLS position (the no-answer span): question tokens, special tokens
and padding are masked. The distillation loss is the soft cross-entropy with temperature over the
kept positions, for start and for end, averaged (:func:`span_soft_cross_entropy`); the hard loss is
the cross-entropy to the gold positions over the same positions.

Decoding (metrics, predict, export parity) is the one of ``transformers``' question-answering
pipeline: per window, softmax over the kept positions, the CLS probabilities set aside as the
window's null score, the n best (start, end) pairs with ``start <= end < start +
--max-answer-length`` scored by ``p_start * p_end``, the best over all windows of a question, and
the answer's characters widened to whole words. For SQuAD v2 the null score is the smallest over
the windows, and a question is answered "" when ``null - best span score`` exceeds a threshold (0:
the pipeline's ``handle_impossible_answer`` rule; ``best_f1_threshold`` is the best one on the split).

Metrics are the official SQuAD evaluation scripts' (v1.1 and v2.0: answers lower-cased, punctuation
and articles removed, whitespace collapsed; the max over the gold answers), as **fractions** (0..1,
like the toolkit's other metrics; the official scripts print percent): ``exact_match`` and ``f1``,
and for v2 also ``has_ans_*``, ``no_ans_*`` and ``best_*`` with their thresholds. Checkpoints are
chosen by ``f1``.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModelForQuestionAnswering, DataCollatorWithPadding, PretrainedConfig

from tinybert.config import DataConfig
from tinybert.data.glue import TaskSpec, normalize_task_name
from tinybert.data.readers import TaskData
from tinybert.data.rows import iter_json_lines
from tinybert.errors import TinyBertError
from tinybert.tasks.base import Collator, View, register_task_type

log = logging.getLogger(__name__)

NO_ANSWER_THRESHOLD = "tinybert_no_answer_threshold"
"""``config.json`` key of a SQuAD v2 model's no-answer threshold (chosen on dev by training)."""

__all__ = [
    "SPAN",
    "Answer",
    "QAExample",
    "SpanSettings",
    "SpanTask",
    "decode_example",
    "normalize_answer",
    "read_squad",
    "span_soft_cross_entropy",
    "squad_metrics",
    "window_spans",
]

LABEL_NAMES = ("start", "end")
"""The head's two outputs (``qa_outputs``: start and end logits), named so the label checks apply."""
SQUAD_FILES = {
    "squad": ("train-v1.1.json", "dev-v1.1.json"),
    "squad_v2": ("train-v2.0.json", "dev-v2.0.json"),
}
DEFAULT_MAX_SEQ_LENGTH = 384
N_BEST = 20
MASKED = -10000.0  # the pipeline's logit for positions that cannot be in the answer


@dataclass(frozen=True)
class SpanSettings:
    """How examples are cut into windows and decoded (``DataConfig``'s QA options; the defaults
    are those of ``predict`` and the export parity check)."""

    doc_stride: int | None = None
    """None: the question-answering pipeline's, ``min(128, max_seq_length // 2)``."""
    max_query_length: int = 64
    max_answer_length: int = 30

    @classmethod
    def from_data(cls, data: DataConfig) -> SpanSettings:
        return cls(data.span.doc_stride, data.span.max_query_length, data.span.max_answer_length)


@dataclass(frozen=True)
class Answer:
    text: str
    start: int | None
    """Character offset in the context; None when the text was not found there (metrics only)."""


@dataclass
class QAExample:
    """One question about one context; ``answers`` None for unlabelled rows (predict)."""

    qid: str
    question: str
    context: str
    answers: tuple[Answer, ...] | None
    settings: SpanSettings = field(default_factory=SpanSettings)

    @property
    def is_impossible(self) -> bool:
        return self.answers is not None and not self.answers


# ------------------------------------------------------------------------------------------------
# Reading


@dataclass
class _Counts:
    moved: int = 0
    unmatched: int = 0
    first: str | None = None


def _answer(context: str, text: str, start: Any, qid: str, where: str, counts: _Counts) -> Answer:
    if not isinstance(text, str):
        raise TinyBertError(f"{where}: question {qid}: answer text {text!r} is not a string")
    if isinstance(start, bool) or not isinstance(start, int):
        raise TinyBertError(f"{where}: question {qid}: answer_start {start!r} is not an integer")
    if context[start : start + len(text)] == text:
        return Answer(text, start)
    found = [m.start() for m in re.finditer(re.escape(text), context)] if text else []
    counts.first = counts.first or qid
    if not found:
        counts.unmatched += 1
        return Answer(text, None)
    counts.moved += 1
    return Answer(text, min(found, key=lambda i: abs(i - start)))


def _qa_answers(raw: Any, qid: str, where: str) -> list[tuple[Any, Any]]:
    """(text, answer_start) pairs of the datasets' dict form or the SQuAD list form."""
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        texts, starts = raw.get("text", []), raw.get("answer_start", [])
        if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
            raise TinyBertError(f"{where}: question {qid}: answers needs lists text and answer_start of one length")
        return list(zip(texts, starts, strict=True))
    if isinstance(raw, list) and all(isinstance(a, Mapping) for a in raw):
        missing = [a for a in raw if "text" not in a or "answer_start" not in a]
        if missing:
            raise TinyBertError(f"{where}: question {qid}: an answer lacks text or answer_start")
        return [(a["text"], a["answer_start"]) for a in raw]
    raise TinyBertError(f"{where}: question {qid}: answers must be {{text: [...], answer_start: [...]}} or a list")


def _example(
    qid: str,
    question: Any,
    context: Any,
    raw: Any,
    impossible: bool,
    where: str,
    counts: _Counts,
    settings: SpanSettings,
) -> QAExample:
    if not isinstance(question, str) or not isinstance(context, str):
        raise TinyBertError(f"{where}: question {qid}: question and context must be strings")
    answers = tuple(_answer(context, t, s, qid, where, counts) for t, s in _qa_answers(raw, qid, where))
    if impossible:
        answers = ()
    return QAExample(qid, question, context, answers, settings)


def read_squad(path: Path, settings: SpanSettings = SpanSettings()) -> list[QAExample]:
    """Examples of a SQuAD JSON file (``{"data": [{"paragraphs": [{"context", "qas"}]}]}``, v2's
    ``is_impossible`` honoured) or a JSONL file (``question``, ``context``, ``answers``)."""
    path = Path(path)
    if not path.is_file():
        raise TinyBertError(f"{path}: file not found")
    counts = _Counts()
    examples: list[QAExample] = []
    if path.suffix == ".jsonl":
        for where, obj in iter_json_lines(path):
            missing = [k for k in ("question", "context") if k not in obj]
            if missing:
                raise TinyBertError(f"{where}: missing key {missing[0]!r} (expected question, context, answers)")
            qid = str(obj.get("id", len(examples)))
            impossible = bool(obj.get("is_impossible", False))
            examples.append(
                _example(qid, obj["question"], obj["context"], obj.get("answers"), impossible, where, counts, settings)
            )
    elif path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise TinyBertError(f"{path}: not a JSON file ({err})") from None
        if not isinstance(data, Mapping) or not isinstance(data.get("data"), list):
            raise TinyBertError(f'{path}: not SQuAD JSON (expected {{"data": [{{"paragraphs": [...]}}]}})')
        for a, article in enumerate(data["data"]):
            for p, paragraph in enumerate(article.get("paragraphs", [])):
                where = f"{path} (article {a}, paragraph {p})"
                if "context" not in paragraph or "qas" not in paragraph:
                    raise TinyBertError(f"{where}: a paragraph needs context and qas")
                for qa in paragraph["qas"]:
                    qid = str(qa.get("id", len(examples)))
                    if "question" not in qa:
                        raise TinyBertError(f"{where}: question {qid}: no question text")
                    impossible = bool(qa.get("is_impossible", False))
                    examples.append(
                        _example(
                            qid,
                            qa["question"],
                            paragraph["context"],
                            qa.get("answers"),
                            impossible,
                            where,
                            counts,
                            settings,
                        )
                    )
    else:
        raise TinyBertError(f"{path}: expected a SQuAD .json file or a .jsonl file, got {path.suffix or 'no suffix'}")
    if not examples:
        raise TinyBertError(f"{path}: has no questions")
    if counts.moved or counts.unmatched:
        log.warning(
            "%s: %d answer(s) do not match the context at answer_start: %d found elsewhere in the context and moved "
            "there, %d not found (kept for the metrics, not trained on); first: question %s",
            path,
            counts.moved + counts.unmatched,
            counts.moved,
            counts.unmatched,
            counts.first,
        )
    return examples


# ------------------------------------------------------------------------------------------------
# Windows


def _check_tokenizer(tokenizer: Any) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise TinyBertError(
            f"extractive QA needs a fast tokenizer (character offsets); {type(tokenizer).__name__} is not"
        )
    if getattr(tokenizer, "padding_side", "right") != "right":
        raise TinyBertError("extractive QA windows are question first and padded on the right; the tokenizer pads left")


def _cut_questions(tokenizer: Any, questions: list[str], settings: SpanSettings, max_seq_length: int) -> list[str]:
    """Each question cut to its first ``max_query_length`` tokens (by characters, so that one
    tokenizer call windows it); refuses a ``doc_stride`` that leaves no new context per window."""
    limit = settings.max_query_length
    encoded = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    out, longest = [], 0
    for question, offsets in zip(questions, encoded["offset_mapping"], strict=True):
        out.append(question if len(offsets) <= limit else question[: offsets[limit - 1][1]])
        longest = max(longest, min(len(offsets), limit))
    special = tokenizer.num_special_tokens_to_add(pair=True)
    room = max_seq_length - special - longest
    if room <= settings.doc_stride:
        raise TinyBertError(
            f"option doc_stride: {settings.doc_stride} tokens of overlap leave no new context per window: "
            f"max_seq_length {max_seq_length} - {special} special tokens - {longest} question tokens "
            f"(max_query_length {limit}) = {room} context tokens; use a smaller doc_stride or max_query_length"
        )
    return out


def window_spans(
    offsets: Sequence[tuple[int, int]], sequence_ids: Sequence[int | None], cls_index: int, answer: Answer | None
) -> tuple[int, int]:
    """The (start, end) token labels of one window: the tokens holding the answer's first and last
    characters when the window's context holds all of it, else ``(cls_index, cls_index)``."""
    context = [j for j, s in enumerate(sequence_ids) if s == 1]
    if answer is None or answer.start is None or not context:
        return cls_index, cls_index
    first, last = answer.start, answer.start + len(answer.text)
    if offsets[context[0]][0] > first or offsets[context[-1]][1] < last:
        return cls_index, cls_index
    start = max(j for j in context if offsets[j][0] <= first)
    end = min(j for j in context if offsets[j][1] >= last)
    return start, end


def _window(encoded: Any, i: int, cls_id: int | None) -> dict:
    ids = list(encoded["input_ids"][i])
    sequence_ids = encoded.sequence_ids(i)
    cls_index = ids.index(cls_id) if cls_id is not None and cls_id in ids else 0
    encoding = encoded.encodings[i]
    chars = np.full((len(ids), 2), -1, dtype=np.int64)  # (L, 2): the token's whole word, in the context
    mask = [0] * len(ids)
    for j, s in enumerate(sequence_ids):
        if s != 1:
            continue
        mask[j] = 1
        word = encoding.token_to_word(j)
        span = encoding.word_to_chars(word, 1) if word is not None else None
        chars[j] = span if span is not None else encoding.offsets[j]
    mask[cls_index] = 1
    feature = {k: list(encoded[k][i]) for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded}
    feature.update(span_mask=mask, cls_index=cls_index, char_spans=chars)
    return feature


# ------------------------------------------------------------------------------------------------
# Losses


def span_soft_cross_entropy(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Soft cross-entropy over the kept positions, ``-softmax(t/T) . log_softmax(s/T)``, averaged over B.

    Args:
        student, teacher: (B, L) logits over a window's positions.
        mask: (B, L) bool, the positions that can be an answer boundary (context tokens and CLS).
        temperature: T > 0; no T^2 factor (the paper's).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    low = torch.finfo(student.dtype).min
    log_probs = F.log_softmax(student.masked_fill(~mask, low) / temperature, dim=-1)  # (B, L)
    targets = F.softmax(teacher.to(student.dtype).masked_fill(~mask, low) / temperature, dim=-1)  # (B, L)
    per_row = torch.where(mask, targets * log_probs, 0.0).sum(dim=-1)  # (B,)
    return -per_row.mean()


def _masked_ce(logits: torch.Tensor, mask: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Cross-entropy (B, L) logits -> gold positions (B,) over the kept positions; -100 rows ignored."""
    logits = logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
    losses = F.cross_entropy(logits, gold, ignore_index=-100, reduction="sum")
    return losses / (gold != -100).sum().clamp_min(1)


# ------------------------------------------------------------------------------------------------
# Decoding (transformers' question-answering pipeline)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def window_candidates(
    start: np.ndarray, end: np.ndarray, mask: np.ndarray, cls_index: int, max_answer_length: int, top_k: int
) -> tuple[list[tuple[int, int, float]], float]:
    """The ``top_k`` best (start, end, score) token spans of one window and its null score.

    ``start``, ``end``: (L,) logits; ``mask``: (L,) the kept positions (context and CLS). Scores are
    ``p_start * p_end`` of softmaxes over the kept positions; the null score is ``p_start[CLS] *
    p_end[CLS]``; spans need ``start <= end < start + max_answer_length`` inside the context.
    """
    kept = mask.astype(bool)
    p_start = _softmax(np.where(kept, start, MASKED).astype(np.float64))
    p_end = _softmax(np.where(kept, end, MASKED).astype(np.float64))
    null = float(p_start[cls_index] * p_end[cls_index])
    context = kept.copy()
    context[cls_index] = False
    p_start, p_end = np.where(context, p_start, 0.0), np.where(context, p_end, 0.0)
    scores = np.tril(np.triu(np.outer(p_start, p_end)), max_answer_length - 1)  # (L, L)
    flat = scores.reshape(-1)
    order = np.argsort(-flat, kind="stable")[:top_k] if top_k > 1 else [int(np.argmax(flat))]
    out = []
    for index in order:
        s, e = divmod(int(index), scores.shape[1])
        if context[s] and context[e] and flat[index] > 0:
            out.append((s, e, float(flat[index])))
    return out, null


def decode_example(
    windows: Sequence[tuple[np.ndarray, np.ndarray, dict]], context: str, max_answer_length: int, top_k: int = 1
) -> tuple[list[dict[str, Any]], float]:
    """The ``top_k`` best answers of one question over its windows and the smallest null score.

    ``windows``: (start logits (L,), end logits (L,), feature) per window. Answers are
    ``{"answer", "score", "start", "end"}`` (character offsets, widened to whole words) best first
    (ties: the earlier window); none when no window has a span."""
    answers: list[dict[str, Any]] = []
    null = 1.0
    for start, end, feature in windows:
        n = len(start)
        spans, window_null = window_candidates(
            start, end, np.asarray(feature["span_mask"][:n]), int(feature["cls_index"]), max_answer_length, top_k
        )
        null = min(null, window_null)
        chars = np.asarray(feature["char_spans"])
        for s, e, score in spans:
            first, last = int(chars[s][0]), int(chars[e][1])
            answers.append({"answer": context[first:last], "score": score, "start": first, "end": last})
    answers.sort(key=lambda a: a["score"], reverse=True)
    return answers[:top_k], null


def _by_example(
    predictions: list[list[np.ndarray]], features: Sequence[dict], count: int
) -> list[list[tuple[np.ndarray, np.ndarray, dict]]]:
    grouped: list[list[tuple[np.ndarray, np.ndarray, dict]]] = [[] for _ in range(count)]
    for start, end, feature in zip(predictions[0], predictions[1], features, strict=True):
        grouped[int(feature["example_index"])].append((start, end, feature))
    return grouped


# ------------------------------------------------------------------------------------------------
# Metrics (the official SQuAD v1.1 / v2.0 evaluation scripts)


_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, punctuation removed, articles (a, an, the) removed, whitespace collapsed."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 of the normalised answers (both empty: 1; one empty: 0)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def _gold_texts(example: QAExample) -> list[str]:
    texts = [a.text for a in example.answers or () if normalize_answer(a.text)]
    return texts or [""]


def _best_threshold(
    scores: list[float], null_diffs: list[float], has_answer: list[bool], answered: list[bool]
) -> tuple[float, float]:
    """The official v2 script's ``find_best_thresh``: (best score as a fraction, its threshold)."""
    current = best = float(sum(not h for h in has_answer))
    threshold = 0.0
    for i in sorted(range(len(scores)), key=lambda k: null_diffs[k]):
        current += scores[i] if has_answer[i] else (-1.0 if answered[i] else 0.0)
        if current > best:
            best, threshold = current, null_diffs[i]
    return best / max(len(scores), 1), threshold


def squad_metrics(
    predictions: Sequence[str],
    examples: Sequence[QAExample],
    null_diffs: Sequence[float] | None = None,
    version_2: bool = False,
) -> dict[str, float]:
    """EM and F1 (fractions) of ``predictions`` (one text per example, "" for no answer) against
    each example's gold answers (max over them); v2 adds HasAns/NoAns and, given ``null_diffs``
    (null score minus best span score per example, the predictions being the best spans), the
    best-threshold figures."""
    golds = [_gold_texts(ex) for ex in examples]
    em = [max(exact_match(p, g) for g in gold) for p, gold in zip(predictions, golds, strict=True)]
    f1 = [max(f1_score(p, g) for g in gold) for p, gold in zip(predictions, golds, strict=True)]
    n = max(len(examples), 1)
    out = {"exact_match": sum(em) / n, "f1": sum(f1) / n}
    if not version_2:
        return out
    has = [gold != [""] for gold in golds]
    for name, keep in (("has_ans", True), ("no_ans", False)):
        idx = [i for i, h in enumerate(has) if h == keep]
        if idx:
            out[f"{name}_exact_match"] = sum(em[i] for i in idx) / len(idx)
            out[f"{name}_f1"] = sum(f1[i] for i in idx) / len(idx)
    if null_diffs is not None:
        answered = [bool(p) for p in predictions]
        out["best_exact_match"], out["best_exact_match_threshold"] = _best_threshold(
            em, list(null_diffs), has, answered
        )
        out["best_f1"], out["best_f1_threshold"] = _best_threshold(f1, list(null_diffs), has, answered)
    return out


# ------------------------------------------------------------------------------------------------
# The task type


class SpanTask:
    """The extractive question-answering task type (see the module docstring)."""

    name = "span"
    architecture = "ForQuestionAnswering"
    head_class = AutoModelForQuestionAnswering
    pipeline_task = "question-answering"
    output_names = ("start_logits", "end_logits")
    prediction_columns = ("answer", "score", "start", "end")
    trains_on_hard_loss = True
    """finetune trains on :meth:`hard_loss` (the head takes start/end positions, not ``labels``)."""
    text_columns = ("question", "context")
    """predict's default input columns."""
    predict_max_seq_length = DEFAULT_MAX_SEQ_LENGTH
    """predict's default window length: the question-answering pipeline's (384)."""
    decoded_parity = True
    """The export parity bar is on the decoded answers (:meth:`postprocess`), not per-window argmaxes."""
    sample_texts = (
        ("Where is the Eiffel Tower?", "The Eiffel Tower is a wrought-iron lattice tower in Paris, France."),
        ("When was it built?", "Construction of the tower began in 1887 and it opened to the public in March 1889."),
        ("Who designed it?", "It is named after the engineer Gustave Eiffel, whose company designed and built it."),
        ("How tall is it?", "The tower is 330 metres tall, about the same height as an 81-storey building."),
        ("What is the capital of Australia?", "Canberra is the capital city of Australia; Sydney is its largest city."),
        ("What do bees make?", "Honey bees collect nectar and turn it into honey, which they store in wax combs."),
        ("Which planet is red?", "Mars is often called the Red Planet because iron oxide on its surface looks red."),
        ("How many legs do spiders have?", "Spiders are arachnids: they have eight legs and usually eight eyes."),
    )
    """(question, context) rows for the export parity check when no file is given."""

    def read(self, data: DataConfig, need_train: bool) -> TaskData:
        """``--task squad|squad_v2 --data-dir D`` (its SQuAD files; ``--train F`` replaces the training
        file), or ``--train F --dev F`` (SQuAD JSON or JSONL); training also needs the dev split."""
        settings = SpanSettings.from_data(data)
        if data.task is not None:
            name = normalize_task_name(data.task)
            train_name, dev_name = SQUAD_FILES[name]
            train_path = data.train if data.train is not None else Path(data.data_dir) / train_name
            dev_path = Path(data.data_dir) / dev_name
        else:
            if need_train and data.train is None:
                raise TinyBertError("--train FILE is required for training")
            if data.dev is None:
                raise TinyBertError("--dev FILE is required: the best checkpoint is chosen on it")
            name, train_path, dev_path = "custom", data.train, data.dev
        train = read_squad(train_path, settings) if need_train else []
        dev = read_squad(dev_path, settings)
        if data.max_train_samples is not None:
            train = train[: data.max_train_samples]
        if data.max_eval_samples is not None:
            dev = dev[: data.max_eval_samples]
        version_2 = name == "squad_v2" or any(ex.is_impossible for ex in [*train, *dev])
        spec = TaskSpec(
            name=f"{name}_v2" if version_2 and name == "custom" else name,
            is_regression=False,
            label_names=LABEL_NAMES,
            main_metric="f1",
            max_seq_length=DEFAULT_MAX_SEQ_LENGTH,
            is_pair=True,
            train_file=str(train_path) if need_train else None,
            eval_files={"dev": str(dev_path)},
        )
        return TaskData(spec=spec, train=train, evals={"dev": dev})

    def examples_from_texts(self, texts: Sequence[Sequence[str]]) -> list[QAExample]:
        """Rows of (question, context)."""
        bad = [i for i, t in enumerate(texts) if len(t) != 2]
        if bad:
            raise TinyBertError(
                f"row {bad[0] + 1}: extractive QA needs two text fields, question and context "
                "(e.g. --text-column question --text-column context)"
            )
        return [QAExample(str(i), t[0], t[1], None) for i, t in enumerate(texts)]

    def texts(self, example: QAExample) -> list[str]:
        return [example.question, example.context]

    def featurize(
        self,
        examples: Sequence[QAExample],
        tokenizer: Any,
        max_seq_length: int,
        label2id: Mapping[str, int] | None,
        regression: bool = False,
    ) -> list[dict]:
        """Windows of every example (see the module docstring): model inputs, ``span_mask`` (L,),
        ``cls_index``, ``char_spans`` (L, 2) (each context token's word in the context, -1 elsewhere),
        ``example_index`` (the example's position in ``examples``) and, for labelled examples,
        ``labels`` (start, end): the first usable answer's tokens, CLS when the window lacks it, -100
        when the example's answers are all unmatched."""
        features: list[dict] = []
        if not examples:
            return features
        settings = examples[0].settings
        if settings.doc_stride is None:
            settings = SpanSettings(
                min(128, max_seq_length // 2), settings.max_query_length, settings.max_answer_length
            )
        _check_tokenizer(tokenizer)
        cls_id = tokenizer.cls_token_id
        for begin in range(0, len(examples), 1000):
            chunk = examples[begin : begin + 1000]
            questions = _cut_questions(tokenizer, [ex.question.lstrip() for ex in chunk], settings, max_seq_length)
            encoded = tokenizer(
                questions,
                [ex.context for ex in chunk],
                truncation="only_second",
                max_length=max_seq_length,
                stride=settings.doc_stride,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                padding=False,
            )
            for i, k in enumerate(encoded["overflow_to_sample_mapping"]):
                example = chunk[k]
                feature = _window(encoded, i, cls_id)
                feature["example_index"] = begin + k
                if example.answers is not None:
                    usable = [a for a in example.answers if a.start is not None]
                    if example.answers and not usable:
                        feature["labels"] = [-100, -100]
                    else:
                        answer = usable[0] if usable else None
                        offsets = encoded["offset_mapping"][i]
                        feature["labels"] = list(
                            window_spans(offsets, encoded.sequence_ids(i), feature["cls_index"], answer)
                        )
                features.append(feature)
        return features

    def collator(self, tokenizer: Any) -> Collator:
        return DataCollatorWithPadding(tokenizer=tokenizer, padding="longest", return_tensors="pt")

    def views(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]) -> list[View]:
        mask = batch["span_mask"].bool()  # (B, L): context tokens and CLS
        return [(outputs["start_logits"], mask), (outputs["end_logits"], mask)]  # (B, L) each

    def soft_loss(
        self, student: list[View], teacher: list[torch.Tensor], temperature: float, regression: bool
    ) -> torch.Tensor:
        (s_start, mask), (s_end, _) = student
        t_start, t_end = teacher
        n = s_start.shape[1]  # cached teacher views are padded to the batch's longest window
        return 0.5 * (
            span_soft_cross_entropy(s_start, t_start[:, :n], mask, temperature)
            + span_soft_cross_entropy(s_end, t_end[:, :n], mask, temperature)
        )

    def hard_loss(self, student: list[View], labels: torch.Tensor, regression: bool) -> torch.Tensor:
        (start, mask), (end, _) = student  # (B, L); labels (B, 2)
        return 0.5 * (_masked_ce(start, mask, labels[:, 0]) + _masked_ce(end, mask, labels[:, 1]))

    def metrics(
        self, spec: TaskSpec, predictions: list[list[np.ndarray]], labels: list[np.ndarray], positive_label: int | None
    ) -> dict[str, float]:
        raise TinyBertError("extractive QA metrics need the questions: use example_metrics")

    def example_metrics(
        self,
        spec: TaskSpec,
        predictions: list[list[np.ndarray]],
        examples: Sequence[QAExample],
        features: Sequence[dict],
    ) -> dict[str, float]:
        """SQuAD EM/F1 (fractions) of the decoded answers; v2 figures for v2 data (see module docstring)."""
        version_2 = spec.name.endswith("v2") or any(ex.is_impossible for ex in examples)
        texts, diffs = [], []
        for example, windows in zip(examples, _by_example(predictions, features, len(examples)), strict=True):
            answers, null = decode_example(windows, example.context, example.settings.max_answer_length)
            best = answers[0] if answers else {"answer": "", "score": 0.0}
            texts.append(best["answer"])
            diffs.append(null - best["score"])
        if not version_2:
            return squad_metrics(texts, examples)
        at_zero = [t if d <= 0 else "" for t, d in zip(texts, diffs, strict=True)]  # the pipeline's null rule
        out = squad_metrics(at_zero, examples, version_2=True)
        best = squad_metrics(texts, examples, diffs, version_2=True)  # thresholds chosen on this split
        out.update({k: v for k, v in best.items() if k.startswith("best_")})
        return out

    def config_records(self, metrics: Mapping[str, float]) -> dict[str, float]:
        """What training writes into the model's ``config.json``: for SQuAD v2 models, the no-answer
        threshold with the best F1 on the dev split (``best_f1_threshold``), which predict applies."""
        return {NO_ANSWER_THRESHOLD: metrics["best_f1_threshold"]} if "best_f1_threshold" in metrics else {}

    def postprocess(
        self,
        predictions: list[list[np.ndarray]],
        examples: Sequence[QAExample],
        features: Sequence[dict],
        config: PretrainedConfig,
    ) -> list[dict[str, Any]]:
        """The best answer of each example: ``answer``, ``score``, ``start``, ``end`` (characters), as
        ``pipeline("question-answering", max_answer_len=<max_answer_length>)`` gives it. A SQuAD v2
        model (its config holds ``tinybert_no_answer_threshold``) answers "" (score: the null score)
        when ``null - best span score`` exceeds the threshold."""
        threshold = getattr(config, NO_ANSWER_THRESHOLD, None)
        rows = []
        for example, windows in zip(examples, _by_example(predictions, features, len(examples)), strict=True):
            answers, null = decode_example(windows, example.context, example.settings.max_answer_length)
            best = answers[0] if answers else {"answer": "", "score": 0.0, "start": 0, "end": 0}
            if threshold is not None and null - best["score"] > threshold:
                best = {"answer": "", "score": null, "start": 0, "end": 0}
            rows.append(best)
        return rows


SPAN = register_task_type(SpanTask(), tasks=tuple(SQUAD_FILES))
