"""Token classification's data options (:mod:`tinybert.tasks.token` reads them)."""

from __future__ import annotations

from dataclasses import dataclass

from tinybert.options import check_fields, one_of, option

PANEL = "Token classification (--task-type token)"


@dataclass(frozen=True)
class TokenOptions:
    """How tagged files are read, and what the per-token soft loss covers."""

    token_column: str | None = option(None, panel=PANEL)
    """Tagged files (--task-type token): the token column, a 0-based column number in CoNLL-style
    files (default 0, the first) or a JSON key in .jsonl files (default tokens)."""
    tag_column: str | None = option(None, panel=PANEL)
    """Tagged files: the tag column, a column number in CoNLL-style files (default -1, the last) or
    a JSON key in .jsonl files (default tags)."""
    soft_pieces: str = option("first", check=one_of("first", "all"), panel=PANEL)
    """Token classification: the pieces the per-token soft loss covers: first (each word's first
    piece, the ones the labels and the metric use) or all (every real word piece)."""

    def __post_init__(self) -> None:
        check_fields(self)


OPTIONS = TokenOptions
