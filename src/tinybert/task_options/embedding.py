"""Sentence embedding's data options (:mod:`tinybert.tasks.embedding` reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

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
    pairs: Path | None = option(None, panel=PANEL)
    """Sentence embeddings, evaluate: sentence pairs scored by cosine, as MTEB's pair classification
    (average precision, best-threshold accuracy): a GLUE MRPC folder (its dev.tsv)."""
    retrieval: Path | None = option(None, panel=PANEL)
    """Sentence embeddings, evaluate: a SQuAD-format JSON file; each question against every
    paragraph (MRR@10, recall@1 and @10 of its own paragraph)."""
    reference: str | None = option(None, panel=PANEL)
    """Sentence embeddings, evaluate: the model to compare with (the teacher), scored beside the
    model, each figure with the model's retention; with --dev, the two models' agreement on it."""

    evaluation_only: ClassVar[tuple[str, ...]] = ("pairs", "retrieval", "reference")
    """The options only ``evaluate`` takes (a recipe gives them to its evaluation step alone)."""

    def gives_data(self) -> bool:
        """Evaluation data of its own (pairs or retrieval), so that --train/--dev may be absent."""
        return self.pairs is not None or self.retrieval is not None

    def __post_init__(self) -> None:
        check_fields(self)


OPTIONS = EmbeddingOptions
