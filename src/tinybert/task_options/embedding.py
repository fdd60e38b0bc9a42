"""Sentence embedding's data options (:mod:`tinybert.tasks.embedding` reads them)."""

from __future__ import annotations

from dataclasses import dataclass

from tinybert.options import at_least, check_fields, one_of, option

PANEL = "Sentence embeddings (--task-type embedding)"


@dataclass(frozen=True)
class EmbeddingOptions:
    """How a teacher that is not a sentence-transformers folder pools, and where held-out text comes from."""

    pooling: str | None = option(None, check=one_of("mean", "cls", "max"), panel=PANEL)
    """Sentence embeddings: how a plain encoder (no modules.json) pools its token states into one
    vector (mean, cls or max); a sentence-transformers folder pools as its 1_Pooling says."""
    held_out: int = option(1000, check=at_least(1), panel=PANEL)
    """Sentence embeddings without --dev: the last passages of --train held out as the dev text
    (at most a tenth of them), on which the teacher-student agreement picks the best checkpoint."""

    def __post_init__(self) -> None:
        check_fields(self)


OPTIONS = EmbeddingOptions
