"""Extractive QA's data options (:mod:`tinybert.tasks.span` reads them)."""

from __future__ import annotations

from dataclasses import dataclass

from tinybert.options import at_least, check_fields, option

PANEL = "Extractive QA (--task-type span)"


@dataclass(frozen=True)
class SpanOptions:
    """How contexts are cut into windows and answers decoded (--task squad|squad_v2, or --task-type span)."""

    doc_stride: int = option(128, check=at_least(0), panel=PANEL)
    """Extractive QA: tokens of overlap between consecutive windows of a long context (the tokenizer's stride,
    as in transformers' run_qa.py and question-answering pipeline)."""
    max_query_length: int = option(64, check=at_least(1), panel=PANEL)
    """Extractive QA: questions are cut to this many tokens."""
    max_answer_length: int = option(30, check=at_least(1), panel=PANEL)
    """Extractive QA: longest answer span, in tokens, when decoding predictions."""

    def __post_init__(self) -> None:
        check_fields(self)


OPTIONS = SpanOptions
