"""``tinybert augment``: TinyBERT's data augmentation (paper Algorithm 1), batched and streaming.

For every training example, each replaceable word is replaced with probability ``p`` by one of
its K candidates (:mod:`tinybert.models.candidates`), giving up to ``n`` distinct variants (at most
``4 n`` draws). The output file has the input's format and columns: each original row, followed
by its variants with the text field(s) replaced and every other column copied. For sentence
pairs both texts are augmented in the same draw, so each output row is a consistent pair.

Randomness is seeded per example (``seed`` and the row's index), so the output depends only on
the input, the model and the seed, not on block or batch sizes. The input is read ``block_size``
rows at a time and the output written as it goes (to a temporary file renamed at the end).
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinybert.config import AugmentConfig
from tinybert.data.readers import glue_source
from tinybert.data.rows import (
    Row,
    RowSource,
    atomic_output,
    check_output,
    output_suffix_ok,
    table_source,
)
from tinybert.errors import TinyBertError
from tinybert.results import AugmentResult

if TYPE_CHECKING:
    from tinybert.models.candidates import CandidateFinder

__all__ = ["AugmentConfig", "draw_variants", "run_augment"]

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Sampling (pure; shared with the one-word-at-a-time baseline in bench/augment_speed.py)


def match_case(candidate: str, original: str) -> str:
    """``candidate`` in ``original``'s case pattern (UPPER, Title or as is)."""
    if len(original) > 1 and original.isupper():
        return candidate.upper()
    if original[:1].isupper():
        return candidate[:1].upper() + candidate[1:]
    return candidate


def _draw(
    text: str, spans: Sequence[tuple[int, int]], cands: Sequence[Sequence[str]], p: float, rng: random.Random
) -> str:
    parts: list[str] = []
    last = 0
    for (start, end), options in zip(spans, cands, strict=True):
        if options and rng.random() < p:
            parts += [text[last:start], match_case(rng.choice(options), text[start:end])]
            last = end
    return "".join([*parts, text[last:]]) if parts else text


def draw_variants(
    texts: Sequence[str],
    spans: Sequence[Sequence[tuple[int, int]]],
    cands: Sequence[Sequence[Sequence[str]]],
    n: int,
    p: float,
    rng: random.Random,
) -> list[tuple[str, ...]]:
    """Up to ``n`` distinct variants of one example (at most ``4 n`` draws), the original excluded.

    ``texts`` holds the example's one or two texts; ``spans[s][j]`` and ``cands[s][j]`` are the
    character span and the candidates of word ``j`` of text ``s`` (no candidates: never replaced).
    Each draw replaces every word with probability ``p`` by a uniformly chosen candidate, in both
    texts of a pair at once.
    """
    original = tuple(texts)
    if not any(options for side in cands for options in side):
        return []
    seen = {original}
    out: list[tuple[str, ...]] = []
    for _ in range(4 * n):
        variant = tuple(_draw(t, s, c, p, rng) for t, s, c in zip(texts, spans, cands, strict=True))
        if variant not in seen:
            seen.add(variant)
            out.append(variant)
            if len(out) == n:
                break
    return out


def example_rng(seed: int, index: int) -> random.Random:
    """The random stream of example ``index`` (independent of how examples are batched)."""
    return random.Random(f"{seed}:{index}")


# ---------------------------------------------------------------------------------------------
# The run


def open_source(config: AugmentConfig) -> RowSource:
    if config.data.task is not None:
        return glue_source(config.data.task, config.data.data_dir, config.data.train)
    assert config.data.train is not None
    return table_source(config.data.train, config.data.text_columns)


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _blocks(rows: Iterator[Row], size: int, limit: int | None) -> Iterator[list[Row]]:
    rows = islice(rows, limit) if limit is not None else rows
    while block := list(islice(rows, size)):
        yield block


def run_augment(config: AugmentConfig) -> AugmentResult:
    """Write the augmented file; return what was done (counts, time, sentences per second)."""
    from tqdm.auto import tqdm

    if _is_tagged(config):
        return _run_tagged(config)
    source = open_source(config)
    output = Path(config.run.output)
    if not output_suffix_ok(source, output):
        raise TinyBertError(
            f"--output {output}: expected a {source.path.suffix or '.tsv'} file, the input's format "
            f"({source.path.name}), so that distill reads it the same way"
        )
    check_output(output, config.run.overwrite, [source.path])  # before the model loads
    finder, load_seconds = _load_finder(config)
    sides = 2 if source.is_pair else 1
    total = None
    if source.kind != "json-array":
        total = max(0, _count_lines(source.path) - (1 if source.header is not None else 0))
        total = min(total, config.data.max_train_samples) if config.data.max_train_samples is not None else total
    examples = variants_written = replaceable = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    with (
        atomic_output(output, config.run.overwrite, [source.path]) as handle,
        tqdm(total=total, unit="ex", desc="augment", disable=not config.progress, file=sys.stderr) as bar,
    ):
        writer = source.writer(handle)
        for block in _blocks(source.rows(), config.block_size, config.data.max_train_samples):
            # Both sides of every example in one call: texts [side 0 of all rows, side 1 of all rows].
            texts = [row.texts[s] for s in range(sides) for row in block]
            words, cands = finder.candidates(texts)
            for i, row in enumerate(block):
                at = [s * len(block) + i for s in range(sides)]
                spans = [[(w.start, w.end) for w in words[a]] for a in at]
                replaceable += sum(1 for a in at for c in cands[a] if c)
                found = draw_variants(
                    row.texts,
                    spans,
                    [cands[a] for a in at],
                    config.n,
                    config.p,
                    example_rng(config.training.seed, examples + i),
                )
                writer.write(row.record)
                for variant in found:
                    writer.write(source.with_texts(row, variant))
                variants_written += len(found)
            examples += len(block)
            bar.update(len(block))
        if examples == 0:  # raised inside the block: the temporary file is removed, nothing is written
            raise TinyBertError(f"{source.path}: no data rows (expected at least one example)")
        writer.close()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if source.skipped:
        log.warning("%s: skipped %d malformed rows (known defect of this GLUE file)", source.path, source.skipped)
    return AugmentResult(
        input=str(source.path),
        output=str(output),
        model=config.model,
        candidates="mlm+embeddings" if finder.has_mlm_head else "embeddings",
        word_vectors=None if config.word_vectors is None else str(config.word_vectors),
        replace_polarity_words=config.replace_polarity_words,
        device=str(finder.device),
        n=config.n,
        p=config.p,
        k=config.k,
        seed=config.training.seed,
        examples=examples,
        variants=variants_written,
        rows_written=examples + variants_written,
        replaceable_words=replaceable,
        model_load_seconds=round(load_seconds, 2),
        seconds=round(seconds, 2),
        cpu_seconds=round(cpu_seconds, 2),
        examples_per_second=round(examples / seconds, 2) if seconds > 0 else None,
    )


# ---------------------------------------------------------------------------------------------
# Tagged sentences (token classification, tinybert.tasks.token): tokens replaced, tags kept


def _is_tagged(config: AugmentConfig) -> bool:
    """A tagged training file: ``--task-type token``, or a task read by the token task type."""
    from tinybert.tasks.base import task_type_for_data

    if config.data.task_type is not None:
        return config.data.task_type == "token"
    if config.data.task is None:
        return False
    return task_type_for_data(replace(config.data, data_dir=config.data.data_dir or Path("."))).name == "token"


def _tagged_input(config: AugmentConfig) -> Path:
    if config.data.train is not None:
        return Path(config.data.train)
    from tinybert.tasks.token import CONLL_FILES

    return Path(config.data.data_dir or ".") / CONLL_FILES["train"]


def write_tagged(handle: Any, words: Sequence[str], tags: Sequence[str], jsonl: bool) -> None:
    """One sentence as a JSON line (``tokens``, ``tags``) or as CoNLL lines ``token tag`` and a blank line."""
    import json

    if jsonl:
        handle.write(json.dumps({"tokens": list(words), "tags": list(tags)}, ensure_ascii=False) + "\n")
    else:
        handle.write("".join(f"{w} {t}\n" for w, t in zip(words, tags, strict=True)) + "\n")


def _run_tagged(config: AugmentConfig) -> AugmentResult:
    """Augment tagged sentences: each word tagged ``O`` that the candidate finder may replace (a
    plain word: letters only, not a stop word) is replaced with probability ``p`` by one of its
    candidates (always one word); entity words (any ``B-``/``I-`` tag) are left alone, and every
    tag is kept. The output holds each sentence and then its variants: CoNLL lines ``token tag``
    (read back with the default columns) or, for a ``.jsonl`` input, JSON lines with ``tokens`` and
    ``tags``."""
    from tqdm.auto import tqdm

    from tinybert.tasks.token import read_tagged

    path = _tagged_input(config)
    jsonl = path.suffix.lower() == ".jsonl"
    output = Path(config.run.output)
    if (output.suffix.lower() == ".jsonl") != jsonl:
        raise TinyBertError(
            f"--output {output}: expected a {'.jsonl' if jsonl else 'CoNLL (.txt)'} file like {path.name}"
        )
    check_output(output, config.run.overwrite, [path])
    sentences = read_tagged(path)
    if config.data.max_train_samples is not None:
        sentences = sentences[: config.data.max_train_samples]
    finder, load_seconds = _load_finder(config)
    variants_written = replaceable = kept_entity_words = 0
    start = time.perf_counter()
    with (
        atomic_output(output, config.run.overwrite, [path]) as handle,
        tqdm(total=len(sentences), unit="ex", desc="augment", disable=not config.progress, file=sys.stderr) as bar,
    ):
        for first in range(0, len(sentences), config.block_size):
            block = sentences[first : first + config.block_size]
            texts = [" ".join(s.words) for s in block]
            segments, cands = finder.candidates(texts)
            for i, (sentence, text) in enumerate(zip(block, texts, strict=True)):
                tags = sentence.tags or []
                spans, options, entity_words = _word_options(sentence.words, tags, segments[i], cands[i])
                kept_entity_words += entity_words
                replaceable += sum(1 for o in options if o)
                variants = draw_variants(
                    [text], [spans], [options], config.n, config.p, example_rng(config.training.seed, first + i)
                )
                write_tagged(handle, sentence.words, tags, jsonl)
                for (variant,) in variants:
                    words = variant.split(" ")
                    if len(words) != len(tags):  # cannot happen: one word for one word
                        raise TinyBertError(f"{sentence.where}: a variant changed the number of words")
                    write_tagged(handle, words, tags, jsonl)
                variants_written += len(variants)
            bar.update(len(block))
        if not sentences:
            raise TinyBertError(f"{path}: no tagged sentences")
    seconds = time.perf_counter() - start
    return AugmentResult(
        input=str(path),
        output=str(output),
        model=config.model,
        task_type="token",
        entity_words="left alone (only words tagged O are replaced; every tag is kept)",
        candidates="mlm+embeddings" if finder.has_mlm_head else "embeddings",
        device=str(finder.device),
        n=config.n,
        p=config.p,
        k=config.k,
        seed=config.training.seed,
        examples=len(sentences),
        variants=variants_written,
        rows_written=len(sentences) + variants_written,
        replaceable_words=replaceable,
        entity_words_with_candidates_kept=kept_entity_words,
        model_load_seconds=round(load_seconds, 2),
        seconds=round(seconds, 2),
        examples_per_second=round(len(sentences) / seconds, 2) if seconds > 0 else None,
    )


def _word_options(
    words: list[str], tags: list[str], segments: list, candidates: list[list[str]]
) -> tuple[list[tuple[int, int]], list[list[str]], int]:
    """Each candidate segment's (start, end) in ``" ".join(words)`` and its replacements: a segment
    that is one whole word tagged O keeps its one-word candidates, any other none. Also returns
    how many entity words had candidates (left alone)."""
    starts = {}
    at = 0
    for j, word in enumerate(words):
        starts[(at, at + len(word))] = j
        at += len(word) + 1
    spans, options, entity_words = [], [], 0
    for seg, found in zip(segments, candidates, strict=True):
        j = starts.get((seg.start, seg.end))  # a segment that is one whole word
        allowed = j is not None and tags[j] == "O" and all(" " not in c for c in found)
        entity_words += bool(found) and j is not None and tags[j] != "O"
        spans.append((seg.start, seg.end))
        options.append(found if allowed else [])
    return spans, options, entity_words


def _load_finder(config: AugmentConfig) -> tuple[CandidateFinder, float]:
    """The candidate finder of ``config`` and the seconds its models took to load."""
    from tinybert.deploy.runtime import resolve_device
    from tinybert.models.candidates import CandidateFinder

    device = resolve_device(config.inference.device)  # the candidate finder is a PyTorch fp32 model
    start = time.perf_counter()
    finder = CandidateFinder(
        config.model,
        k=config.k,
        device=device,
        word_vectors=config.word_vectors,
        batch_size=config.inference.eval_batch_size,
        max_length=config.max_length,
        replace_polarity_words=config.replace_polarity_words,
    )
    return finder, time.perf_counter() - start
