"""Token classification (named-entity recognition): one tag per word.

Data: ``--task conll2003 --data-dir D`` reads the CoNLL-2003 column files ``train.txt``,
``valid.txt`` (split ``dev``) and, when present, ``test.txt`` (split ``test``, read by
``evaluate`` only); ``--task-type token --train F --dev F`` reads generic files: CoNLL-style
columns (``.txt``/``.conll``/any other suffix; ``--token-column``/``--tag-column`` are 0-based
column numbers, default first and last) or JSON lines (``.jsonl``; a list of tokens and a list of
tags per line under the keys ``--token-column``/``--tag-column``, default ``tokens`` and ``tags``).
Blank lines end a sentence, ``-DOCSTART-`` lines are skipped. Tags are ``O`` or ``B-TYPE``/``I-TYPE``;
the scheme is detected per file: IOB1 (an entity may start with ``I-``) is converted to IOB2
(every entity starts with ``B-``), which is what the model learns and predicts; the detection is
logged. The labels are ``O`` followed by ``B-``/``I-`` of every entity type of the training file
(of the evaluation files when there is none), sorted; a model's ``id2label`` must hold the same.

Features: the words are split into word pieces; the first piece of each word carries its tag, the
other pieces get -100 (ignored by the gold loss and the metric). A sentence with more pieces than
``max_seq_length`` allows is split, between words, into windows that fit; each window is one
feature, scored as a sentence of its own (an entity across a window edge becomes two
predictions); the number of split sentences and windows is logged. A word with no pieces at all
(only characters the tokenizer drops) is not scored; those are counted and logged too.

One prediction view: the logits (B, L, C) with a (B, L) mask. The distillation loss is the soft
cross-entropy with temperature over the masked positions: each word's first piece (default) or
every real piece (``soft_all``), averaged over them. Metrics: entity-level precision, recall and
F1 (exact span and type, the CoNLL script's definition, by ``seqeval``), the same per entity type
(``PER_f1``, ...), and token accuracy over the scored words; checkpoints are chosen by ``f1``.
Predictions are the entity spans of ``pipeline("token-classification",
aggregation_strategy="simple")``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification, PretrainedConfig

from tinybert.config import DataConfig
from tinybert.data.glue import TaskSpec
from tinybert.data.readers import TaskData
from tinybert.data.rows import iter_json_lines, require_file
from tinybert.errors import TinyBertError
from tinybert.tasks.base import Collator, View, register_task_type

__all__ = [
    "CONLL_FILES",
    "TOKEN",
    "Sentence",
    "TokenTask",
    "align_labels",
    "detect_scheme",
    "entity_metrics",
    "label_set",
    "pipeline_entities",
    "read_conll",
    "read_tagged",
    "read_tagged_jsonl",
    "token_soft_cross_entropy",
]

log = logging.getLogger(__name__)

CONLL_FILES = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}
"""Split -> file name in a CoNLL-2003 folder (``test.txt`` is optional)."""
DOCSTART = "-DOCSTART-"
DEFAULT_MAX_LENGTH = 128
IGNORE = -100


@dataclass
class Sentence:
    """One sentence: its words, their tags (None when unlabelled) and where it was read.

    ``text``: the raw text an unlabelled row came from (predict), whose character offsets the
    predicted spans refer to; None for sentences read from tagged files (the words joined by
    single spaces). ``soft_all``: the distillation loss covers every real piece, not only each
    word's first piece.
    """

    words: list[str]
    tags: list[str] | None
    where: str = ""
    text: str | None = None
    soft_all: bool = False
    tokenizer: Any = field(default=None, repr=False, compare=False)
    """Set by featurize on unlabelled sentences: postprocess turns pieces back into text with it."""

    def starts(self) -> list[int]:
        """Character offset of each word in :attr:`text` (the words joined by spaces when None)."""
        text = self.text if self.text is not None else " ".join(self.words)
        out, at = [], 0
        for word in self.words:
            at = text.find(word, at)
            out.append(at)
            at += len(word)
        return out


# ------------------------------------------------------------------------------------------------
# Reading


def _check_tag(tag: str, where: str) -> None:
    if tag == "O" or (len(tag) > 2 and tag[:2] in ("B-", "I-")):
        return
    raise TinyBertError(f"{where}: tag {tag!r} is not O, B-TYPE or I-TYPE (IOB1/IOB2 tags)")


def detect_scheme(sentences: Sequence[Sentence]) -> str:
    """``"IOB1"`` when some entity starts with ``I-`` (after ``O``, at the start or after another
    type), else ``"IOB2"`` (also for data without entities)."""
    for sentence in sentences:
        previous = "O"
        for tag in sentence.tags or []:
            if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
                return "IOB1"
            previous = tag
    return "IOB2"


def to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 (or IOB2) tags -> IOB2: an ``I-X`` that starts an entity becomes ``B-X``."""
    out = []
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        previous = tag
    return out


def _column(value: str | None, default: int, option: str) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise TinyBertError(
            f"{option} {value!r}: expected a column number (0 = first, -1 = last) for CoNLL-style files"
        ) from None


def read_conll(path: Path, token_column: str | None = None, tag_column: str | None = None) -> list[Sentence]:
    """Sentences of a CoNLL-style column file (whitespace-separated columns, a blank line between
    sentences, ``-DOCSTART-`` lines skipped); tags as written (see :func:`read_tagged`).

    Raises:
        TinyBertError: a missing file, a line without the token or tag column, or a bad tag,
            naming ``file:line``.
    """
    require_file(path, "data file")
    tok = _column(token_column, 0, "--token-column")
    tag_at = _column(tag_column, -1, "--tag-column")
    need = max(tok if tok >= 0 else -tok, tag_at + 1 if tag_at >= 0 else -tag_at)
    if tok < 0:
        need = max(need, -tok)
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    start = 0

    def flush() -> None:
        if words:
            sentences.append(Sentence(list(words), list(tags), f"{path}:{start}"))
            words.clear()
            tags.clear()

    try:
        with path.open(encoding="utf-8-sig") as handle:
            for line_no, line in enumerate(handle, 1):
                fields = line.split()
                if not fields:
                    flush()
                    continue
                if fields[0] == DOCSTART:
                    flush()
                    continue
                if len(fields) < max(need, 2 if tok != tag_at else 1):
                    raise TinyBertError(
                        f"{path}:{line_no}: expected a token and a tag column (at least {max(need, 2)} "
                        f"whitespace-separated fields), got {len(fields)}: {line.strip()[:60]!r}"
                    )
                tag = fields[tag_at]
                _check_tag(tag, f"{path}:{line_no}")
                if not words:
                    start = line_no
                words.append(fields[tok])
                tags.append(tag)
    except UnicodeDecodeError as exc:
        raise TinyBertError(f"{path}: not valid UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    flush()
    return sentences


def read_tagged_jsonl(path: Path, token_key: str | None = None, tag_key: str | None = None) -> list[Sentence]:
    """Sentences of a JSON-lines file: one object per line with a list of tokens and an equally
    long list of tags (keys ``tokens`` and ``tags`` unless given)."""
    require_file(path, "data file")
    token_key, tag_key = token_key or "tokens", tag_key or "tags"
    sentences = []
    for where, obj in iter_json_lines(path):
        for key in (token_key, tag_key):
            if not isinstance(obj.get(key), list) or not all(isinstance(v, str) for v in obj[key]):
                raise TinyBertError(f"{where}: expected a list of strings under {key!r}")
        words, tags = obj[token_key], obj[tag_key]
        if len(words) != len(tags):
            raise TinyBertError(f"{where}: {len(words)} tokens but {len(tags)} tags")
        for tag in tags:
            _check_tag(tag, where)
        if words:
            sentences.append(Sentence(list(words), list(tags), where))
    return sentences


def read_tagged(path: Path, token_column: str | None = None, tag_column: str | None = None) -> list[Sentence]:
    """A tagged file by its suffix (``.jsonl``: JSON lines; else CoNLL columns), its tags in IOB2
    (IOB1 detected and converted; the scheme is logged)."""
    path = Path(path)
    if path.suffix.lower() == ".jsonl":
        sentences = read_tagged_jsonl(path, token_column, tag_column)
    else:
        sentences = read_conll(path, token_column, tag_column)
    if not sentences:
        raise TinyBertError(f"{path}: no tagged sentences")
    scheme = detect_scheme(sentences)
    log.info("%s: %d sentences, %s tags%s", path, len(sentences), scheme, " (converted to IOB2)" * (scheme == "IOB1"))
    if scheme == "IOB1":
        for sentence in sentences:
            sentence.tags = to_iob2(sentence.tags or [])
    return sentences


def label_set(sentences: Sequence[Sentence]) -> tuple[str, ...]:
    """``O`` first, then ``B-``/``I-`` of every entity type in ``sentences``, sorted."""
    types = {tag[2:] for s in sentences for tag in s.tags or [] if tag != "O"}
    return ("O", *sorted(f"{p}-{t}" for t in types for p in "BI"))


# ------------------------------------------------------------------------------------------------
# Features


def align_labels(word_ids: Sequence[int | None], tags: Sequence[str], label2id: Mapping[str, int]) -> list[int]:
    """Per-piece labels: the tag id of its word on each word's first piece, -100 elsewhere
    (special tokens, a word's further pieces)."""
    out = []
    previous = None
    for w in word_ids:
        out.append(IGNORE if w is None or w == previous else label2id[tags[w]])
        previous = w
    return out


def _windows(counts: Sequence[int], room: int) -> list[tuple[int, int]]:
    """Word ranges ``[a, b)`` whose pieces fit in ``room``, in order, covering every word (a word
    longer than ``room`` alone is a window of its own, its pieces cut)."""
    windows = []
    start, used = 0, 0
    for i, n in enumerate(counts):
        if used + n > room and i > start:
            windows.append((start, i))
            start, used = i, 0
        used += n
    windows.append((start, len(counts)))
    return windows


# ------------------------------------------------------------------------------------------------
# Losses and metrics


def token_soft_cross_entropy(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """``-softmax(z_T / t) . log_softmax(z_S / t)`` per position, averaged over the positions of ``mask``.

    Args:
        student: logits (B, L, C).
        teacher: logits (B, L, C).
        mask: (B, L) bool, the positions that count.
        temperature: t > 0 (no t^2 factor, as in the paper).

    Returns:
        Scalar; 0 when the mask is empty.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    targets = F.softmax(teacher.to(student.dtype) / temperature, dim=-1)  # (B, L, C)
    per_position = -(targets * F.log_softmax(student / temperature, dim=-1)).sum(-1)  # (B, L)
    per_position = torch.where(mask, per_position, 0.0)  # padded logits may be anything
    return per_position.sum() / mask.sum().clamp_min(1)


def entity_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level precision, recall and F1 (exact span and type, the CoNLL script's chunking, by
    seqeval), per type (``TYPE_precision``, ``TYPE_recall``, ``TYPE_f1``, ``TYPE_support``), and
    token ``accuracy``; tag sequences per sentence."""
    from seqeval.metrics import classification_report

    total = sum(len(g) for g in gold)
    right = sum(a == b for g, p in zip(gold, predicted, strict=True) for a, b in zip(g, p, strict=True))
    report = classification_report(list(map(list, gold)), list(map(list, predicted)), output_dict=True, zero_division=0)
    micro = report.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    metrics = {
        "precision": float(micro["precision"]),
        "recall": float(micro["recall"]),
        "f1": float(micro["f1-score"]),
        "accuracy": right / total if total else 0.0,
    }
    for name, row in report.items():
        if name.endswith(" avg"):
            continue
        metrics.update(
            {
                f"{name}_precision": float(row["precision"]),
                f"{name}_recall": float(row["recall"]),
                f"{name}_f1": float(row["f1-score"]),
                f"{name}_support": float(row["support"]),
            }
        )
    return metrics


def pipeline_entities(
    scores: np.ndarray,
    tokens: Sequence[str],
    offsets: Sequence[tuple[int, int]],
    config: PretrainedConfig,
    tokenizer: Any,
) -> list[dict[str, Any]]:
    """Entity spans as ``pipeline("token-classification", aggregation_strategy="simple")`` gives
    them: every piece's top tag, consecutive pieces of one type grouped (a ``B-`` starts a new
    group), ``O`` dropped; score = the mean of the pieces' top probabilities.

    Args:
        scores: softmax probabilities (N, C) of the N real pieces.
        tokens: the N pieces' token strings.
        offsets: their character spans in the text.
    """
    pieces = []
    for probs, token, (start, end) in zip(scores, tokens, offsets, strict=True):
        top = int(probs.argmax())
        pieces.append(
            {"entity": str(config.id2label[top]), "score": float(probs[top]), "word": token, "start": start, "end": end}
        )

    def tag(label: str) -> tuple[str, str]:
        if label.startswith("B-"):
            return "B", label[2:]
        if label.startswith("I-"):
            return "I", label[2:]
        return "I", label

    def group(members: list[dict]) -> dict[str, Any]:
        return {
            "entity_group": members[0]["entity"].split("-", 1)[-1],
            "score": float(np.mean([m["score"] for m in members])),
            "word": tokenizer.convert_tokens_to_string([m["word"] for m in members]),
            "start": members[0]["start"],
            "end": members[-1]["end"],
        }

    groups: list[dict] = []
    current: list[dict] = []
    for piece in pieces:
        bi, kind = tag(piece["entity"])
        if current and kind == tag(current[-1]["entity"])[1] and bi != "B":
            current.append(piece)
            continue
        if current:
            groups.append(group(current))
        current = [piece]
    if current:
        groups.append(group(current))
    return [g for g in groups if g["entity_group"] != "O"]


# ------------------------------------------------------------------------------------------------
# The task type


class TokenTask:
    """The token classification task type (see the module docstring)."""

    name = "token"
    architecture = "ForTokenClassification"
    head_class = AutoModelForTokenClassification
    pipeline_task = "token-classification"
    output_names = ("logits",)
    prediction_columns = ("entities",)

    def read(self, data: DataConfig, need_train: bool) -> TaskData:
        """CoNLL-2003's folder (``data.task``) or generic tagged files; training reads train and
        dev (the best checkpoint is chosen on dev), evaluation every labelled split."""
        files: dict[str, Path] = {}
        if data.task is not None:
            folder = Path(data.data_dir)
            if not folder.is_dir():
                raise TinyBertError(f"--data-dir {folder}: not a folder (expected {', '.join(CONLL_FILES.values())})")
            files = {split: folder / name for split, name in CONLL_FILES.items()}
            if data.train is not None:
                files["train"] = Path(data.train)
            if not files["test"].is_file():
                del files["test"]
            if not need_train:
                files.pop("train") if not files["train"].is_file() else None
            name = "conll2003"
        else:
            if need_train and data.train is None:
                raise TinyBertError("--train FILE is required for training")
            if need_train and data.dev is None:
                raise TinyBertError("--dev FILE is required: the best checkpoint is chosen on it")
            files = {k: Path(v) for k, v in (("train", data.train), ("dev", data.dev)) if v is not None}
            name = "tagging"
        columns = data.token.token_column, data.token.tag_column
        read = {split: read_tagged(path, *columns) for split, path in files.items()}
        train = read.pop("train", [])
        labels = label_set(train) if train else label_set([s for split in read.values() for s in split])
        if not need_train:
            train_labels, train = labels, []
        else:
            train_labels = labels
            read.pop("test", None)  # scored by evaluate --split test, never during training
        limit_train, limit_eval = data.max_train_samples, data.max_eval_samples
        train = train[:limit_train] if limit_train else train
        evals = {k: (v[:limit_eval] if limit_eval else v) for k, v in read.items()}
        for sentence in [*train, *(s for v in evals.values() for s in v)]:
            sentence.soft_all = data.token.soft_pieces == "all"
            unknown = [t for t in sentence.tags or [] if t not in train_labels]
            if unknown:
                raise TinyBertError(
                    f"{sentence.where}: tag {unknown[0]!r} is not among the training data's tags "
                    f"({', '.join(train_labels)})"
                )
        spec = TaskSpec(name, False, train_labels, "f1", DEFAULT_MAX_LENGTH, False, None)
        return TaskData(spec=spec, train=train, evals=evals)

    def examples_from_texts(self, texts: Sequence[Sequence[str]]) -> list[Sentence]:
        return [Sentence(t[0].split(), None, text=t[0]) for t in texts]

    def texts(self, example: Sentence) -> list[str]:
        """The words joined by single spaces (predict splits a row's text on whitespace)."""
        return [example.text if example.text is not None else " ".join(example.words)]

    def featurize(
        self,
        examples: Sequence[Sentence],
        tokenizer: Any,
        max_seq_length: int,
        label2id: Mapping[str, int] | None,
        regression: bool = False,
    ) -> list[dict]:
        """Word pieces of each sentence (in windows when too long); per-piece ``labels`` (first
        pieces: the word's tag id, else -100) when labelled; extra fields ``first_piece`` and
        ``soft_mask`` (B, L) 0/1, ``word_ids`` (-1 off words; the sentence's word index) and
        ``example_index`` (the sentence each window belongs to)."""
        if not examples:
            return []
        special = tokenizer.num_special_tokens_to_add(pair=False)
        room = max_seq_length - special
        if room < 1:
            raise TinyBertError(
                f"option max_seq_length: {max_seq_length} leaves no room for words ({special} special tokens)"
            )
        bare = tokenizer([ex.words for ex in examples], is_split_into_words=True, add_special_tokens=False)
        windows: list[tuple[int, int, int]] = []  # (example, first word, end word)
        split_sentences = cut_words = empty_words = 0
        for i, ex in enumerate(examples):
            counts = [0] * len(ex.words)
            for w in bare.word_ids(i):
                if w is not None:
                    counts[w] += 1
            empty_words += counts.count(0)
            spans = _windows(counts, room)
            split_sentences += len(spans) > 1
            cut_words += sum(1 for n in counts if n > room)
            windows += [(i, a, b) for a, b in spans]
        if split_sentences or empty_words:
            log.warning(
                "%d of %d sentences are longer than %d pieces and were split into windows (%d features); "
                "%d words have no word piece and are not scored; %d words were cut to %d pieces",
                split_sentences, len(examples), room, len(windows), empty_words, cut_words, room,
            )  # fmt: skip
        encoded = tokenizer(
            [examples[i].words[a:b] for i, a, b in windows],
            is_split_into_words=True,
            truncation=True,
            max_length=max_seq_length,
            return_offsets_mapping=bool(getattr(tokenizer, "is_fast", False)),
        )
        starts: dict[int, list[int]] = {}
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        features = []
        for j, (i, a, _) in enumerate(windows):
            ex = examples[i]
            word_ids = encoded.word_ids(j)
            feature = {k: list(encoded[k][j]) for k in keys}
            first = [int(w is not None and (k == 0 or word_ids[k - 1] != w)) for k, w in enumerate(word_ids)]
            real = [int(w is not None) for w in word_ids]
            feature["first_piece"] = first
            feature["soft_mask"] = real if ex.soft_all else first
            feature["word_ids"] = [-1 if w is None else w + a for w in word_ids]
            feature["example_index"] = i
            if "offset_mapping" in encoded:
                at = starts.setdefault(i, ex.starts())
                spans = encoded["offset_mapping"][j]
                feature["offsets"] = [
                    [0, 0] if w is None else [at[w + a] + s0, at[w + a] + s1]
                    for w, (s0, s1) in zip(word_ids, spans, strict=True)
                ]
            else:
                feature["offsets"] = [[0, 0] for _ in word_ids]
            if ex.tags is None:
                ex.tokenizer = tokenizer
            if ex.tags is not None and label2id is not None:
                tags = ex.tags[a:]
                unknown = [t for t in tags if t not in label2id]
                if unknown:
                    raise TinyBertError(
                        f"{ex.where}: tag {unknown[0]!r} is not one of the model's labels ({', '.join(label2id)})"
                    )
                feature["labels"] = align_labels(word_ids, tags, label2id)
            features.append(feature)
        return features

    def collator(self, tokenizer: Any) -> Collator:
        return DataCollatorForTokenClassification(tokenizer, padding="longest", return_tensors="pt")

    def views(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]) -> list[View]:
        """The logits (B, L, C) and the soft loss's positions (B, L): first pieces or all real pieces."""
        logits = outputs["logits"]
        mask = batch["soft_mask"].bool() if "soft_mask" in batch else batch["attention_mask"].bool()
        return [(logits, mask[:, : logits.shape[1]])]

    def soft_loss(
        self, student: list[View], teacher: list[torch.Tensor], temperature: float, regression: bool
    ) -> torch.Tensor:
        (s_logits, mask), t_logits = student[0], teacher[0]  # (B, L, C), (B, L)
        return token_soft_cross_entropy(s_logits, t_logits, mask, temperature)

    def hard_loss(self, student: list[View], labels: torch.Tensor, regression: bool) -> torch.Tensor:
        logits = student[0][0]  # (B, L, C); labels (B, L) with -100 off first pieces
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=IGNORE)

    def metrics(
        self,
        spec: TaskSpec,
        predictions: list[list[np.ndarray]],
        labels: list[np.ndarray],
        positive_label: int | None,
    ) -> dict[str, float]:
        """Entity metrics (:func:`entity_metrics`) over the scored words (labels != -100) of every feature."""
        names = spec.label_names or ()
        gold_tags, predicted_tags = [], []
        for scores, gold in zip(predictions[0], labels, strict=True):  # (L_i, C), (L_i,)
            keep = gold != IGNORE
            gold_tags.append([names[int(i)] for i in gold[keep]])
            predicted_tags.append([names[int(i)] for i in scores.argmax(-1)[keep]])
        return entity_metrics(gold_tags, predicted_tags)

    def postprocess(
        self,
        predictions: list[list[np.ndarray]],
        examples: Sequence[Sentence],
        features: Sequence[dict],
        config: PretrainedConfig,
    ) -> list[dict[str, Any]]:
        """Entity spans per example (``entities``: ``entity_group``, ``score``, ``word``, ``start``,
        ``end`` as the pipeline gives them; offsets into the row's text). The windows of one
        example are joined before grouping, as the pipeline groups over the whole text."""
        first = features[0]["example_index"] if features else 0
        pieces: dict[int, list[tuple[np.ndarray, list[int], list[list[int]]]]] = {}
        for scores, feature in zip(predictions[0], features, strict=True):  # (L_i, C)
            keep = [k for k, w in enumerate(feature["word_ids"]) if w >= 0]
            shifted = np.exp(scores - scores.max(-1, keepdims=True))
            probs = shifted / shifted.sum(-1, keepdims=True)
            ids = [feature["input_ids"][k] for k in keep]
            offsets = [feature["offsets"][k] for k in keep]
            pieces.setdefault(feature["example_index"] - first, []).append((probs[keep], ids, offsets))
        rows = []
        for i, ex in enumerate(examples):
            parts = pieces.get(i, [])
            if not parts or ex.tokenizer is None:
                rows.append({"entities": []})
                continue
            probs = np.concatenate([p for p, _, _ in parts])
            ids = [t for _, part_ids, _ in parts for t in part_ids]
            offsets = [tuple(o) for _, _, offs in parts for o in offs]
            text = ex.text if ex.text is not None else " ".join(ex.words)
            unk = ex.tokenizer.unk_token_id
            tokens = [  # the pipeline names an unknown piece by its text
                text[a:b] if t == unk else token
                for t, token, (a, b) in zip(ids, ex.tokenizer.convert_ids_to_tokens(ids), offsets, strict=True)
            ]
            rows.append({"entities": pipeline_entities(probs, tokens, offsets, config, ex.tokenizer)})
        return rows


TOKEN = register_task_type(TokenTask(), tasks=("conll2003",))
