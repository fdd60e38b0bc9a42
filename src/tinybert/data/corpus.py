"""Raw-text corpora for general distillation: files, documents, and packed token blocks.

Everything streams: documents are read and tokenised one at a time while training runs, and
nothing is written to disk (the published TinyBERT code pre-generated epochs of features that
filled users' disks).

**Files.** Each ``--corpus`` argument is a file, a folder (every non-hidden file below it, in
sorted order) or a glob pattern (``"wiki/*/wiki_*"``, ``**`` allowed). ``.gz`` and ``.bz2`` files
are decompressed on the fly.

**Documents.** Three formats, chosen per file (``--corpus-format``, default ``auto``):

* ``wikiextractor``: ``<doc id=... title=...>`` ... ``</doc>`` blocks; the title line that
  WikiExtractor repeats after ``<doc>`` is dropped, and title-only entries (redirects) are skipped.
* ``blank-lines``: documents separated by one or more blank lines (BERT's pre-training format:
  one sentence or paragraph per line, a blank line between documents).
* ``lines``: every non-empty line is a document.

``auto`` looks at the first 64 KiB of each file: a first non-blank line starting with ``<doc``
means ``wikiextractor``; otherwise a blank line between two non-blank lines means
``blank-lines``; otherwise ``lines``.

**Blocks.** The documents, in file order, form one token stream: each document's tokens followed
by ``[SEP]`` (the document boundary). Blocks of ``max_seq_length`` tokens are cut from it back to
back, each ``[CLS]`` + the next ``max_seq_length - 2`` stream tokens + ``[SEP]``: every token of
the corpus lands in exactly one block, no block is padded, and a block may span a document
boundary (marked by the ``[SEP]`` inside it).

**Held-out slice.** The first ``eval_blocks`` blocks are the held-out set; training starts at the
first document that none of them touched, so no document is in both. Training cycles over the
rest of the corpus (a *pass* is one full cycle).

**Shuffling.** Consecutive blocks come from the same document, so training draws them through a
shuffle buffer of ``shuffle_buffer`` blocks (as ``tf.data``/``datasets`` streaming do).

**Resuming.** The stream's state is small: the position of the next unread token (pass, file,
document in the file, token offset), the buffered blocks and the buffer's RNG state. Restoring
it skips whole files and parses (but does not tokenise) the documents before the position in
its file, so resuming takes seconds, not a re-read of everything consumed so far.
"""

from __future__ import annotations

import bz2
import glob
import gzip
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import torch
from transformers import PreTrainedTokenizerBase

from tinybert.errors import TinyBertError

CORPUS_FORMATS = ("auto", "wikiextractor", "blank-lines", "lines")
_SNIFF_BYTES = 64 * 1024


# ---------------------------------------------------------------------------------------------
# Files and documents


def _open_text(path: Path) -> TextIO:
    opener = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    return opener(path, "rt", encoding="utf-8", errors="replace")


def resolve_files(paths: Sequence[str | Path]) -> list[Path]:
    """The corpus files of ``paths`` (files, folders, glob patterns), in the order given; folders
    and patterns expand in sorted order. A file named twice is read once."""
    if not paths:
        raise TinyBertError("--corpus: give at least one file, folder or glob pattern")
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            found = [path]
        elif path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise TinyBertError(f"--corpus {given}: folder has no files")
        elif any(c in str(given) for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(str(given), recursive=True))
            found = [f for m in matches for f in ([m] if m.is_file() else resolve_files([m]) if m.is_dir() else [])]
            if not found:
                raise TinyBertError(f"--corpus {given}: the pattern matches no file")
        else:
            raise TinyBertError(f"--corpus {given}: no such file or folder")
        files.extend(found)
    return list(dict.fromkeys(f.resolve() for f in files))


def detect_format(path: Path) -> str:
    """``wikiextractor``, ``blank-lines`` or ``lines`` from the first 64 KiB of ``path`` (see module doc)."""
    with _open_text(path) as f:
        head = f.read(_SNIFF_BYTES)
    lines = head.splitlines()
    if head and len(head) == _SNIFF_BYTES and not head.endswith("\n"):
        lines = lines[:-1]  # the last line may be cut off mid-way
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        return "lines"
    if lines[nonblank[0]].lstrip().startswith("<doc"):
        return "wikiextractor"
    first, last = nonblank[0], nonblank[-1]
    if any(not line.strip() for line in lines[first:last]):
        return "blank-lines"
    return "lines"


def read_documents(path: Path, fmt: str) -> Iterator[str]:
    """The documents of one file, in order, as text (empty documents are skipped)."""
    if fmt not in CORPUS_FORMATS or fmt == "auto":
        raise ValueError(f"format must be one of {CORPUS_FORMATS[1:]}, got {fmt!r}")
    with _open_text(path) as f:
        if fmt == "lines":
            for line in f:
                if line.strip():
                    yield line.strip()
            return
        if fmt == "blank-lines":
            para: list[str] = []
            for line in f:
                if line.strip():
                    para.append(line.strip())
                elif para:
                    yield "\n".join(para)
                    para = []
            if para:
                yield "\n".join(para)
            return
        # wikiextractor: <doc ...>\nTitle\n\nbody...\n</doc>; text outside <doc> blocks is ignored.
        body: list[str] | None = None
        expect_title = False
        for line in f:
            stripped = line.strip()
            if stripped.startswith("<doc") and stripped.endswith(">"):
                body, expect_title = [], True
            elif stripped == "</doc>":
                if body:
                    yield "\n".join(body)
                body = None
            elif body is not None and stripped:
                if expect_title:
                    expect_title = False  # WikiExtractor repeats the title as the first line
                else:
                    body.append(stripped)


@dataclass(frozen=True)
class CorpusConfig:
    """Where the raw text comes from and how it is cut into blocks."""

    paths: tuple[str, ...]
    """Files, folders or glob patterns, as given to ``--corpus``."""
    format: str = "auto"
    """auto, wikiextractor, blank-lines or lines (see the module docstring)."""
    max_seq_length: int = 128
    """Tokens per block, [CLS] and [SEP] included."""
    eval_blocks: int = 128
    """Blocks held out from the start of the corpus for evaluation; 0: none."""
    shuffle_buffer: int = 2048
    """Training blocks are drawn at random from a buffer of this many; 0 or 1: in corpus order."""

    def __post_init__(self) -> None:
        if self.format not in CORPUS_FORMATS:
            raise TinyBertError(f"--corpus-format {self.format!r}: expected one of {', '.join(CORPUS_FORMATS)}")
        if self.max_seq_length < 8:
            raise TinyBertError(f"--max-seq-length: expected >= 8, got {self.max_seq_length}")
        if self.eval_blocks < 0:
            raise TinyBertError(f"--eval-blocks: expected >= 0, got {self.eval_blocks}")
        if self.shuffle_buffer < 0:
            raise TinyBertError(f"--shuffle-buffer: expected >= 0, got {self.shuffle_buffer}")


@dataclass(frozen=True)
class Corpus:
    """The resolved files of a corpus and the document format of each."""

    files: tuple[Path, ...]
    formats: tuple[str, ...]

    @classmethod
    def open(cls, paths: Sequence[str | Path], fmt: str = "auto") -> Corpus:
        files = resolve_files(paths)
        formats = tuple(detect_format(f) if fmt == "auto" else fmt for f in files)
        return cls(tuple(files), formats)

    def documents(self, start_file: int = 0, start_doc: int = 0) -> Iterator[tuple[int, int, str]]:
        """(file index, document index in the file, text) from document ``start_doc`` of file
        ``start_file`` on; earlier files are not opened, earlier documents of the start file are
        parsed but not returned."""
        for fi in range(start_file, len(self.files)):
            for di, text in enumerate(read_documents(self.files[fi], self.formats[fi])):
                if fi == start_file and di < start_doc:
                    continue
                yield fi, di, text

    def describe(self) -> dict:
        counts: dict[str, int] = {}
        for fmt in self.formats:
            counts[fmt] = counts.get(fmt, 0) + 1
        return {
            "files": len(self.files),
            "bytes": sum(f.stat().st_size for f in self.files),
            "formats": counts,
        }

    def signature(self) -> list[list]:
        """[path, size, format] per file: a resumed run must read the same corpus."""
        return [[str(f), f.stat().st_size, fmt] for f, fmt in zip(self.files, self.formats, strict=True)]


# ---------------------------------------------------------------------------------------------
# Packing


class Packer:
    """Cuts the corpus's token stream into blocks ``[CLS] t_1 ... t_{L-2} [SEP]`` (see module doc).

    The stream is ``doc_1 tokens, [SEP], doc_2 tokens, [SEP], ...``. ``position`` is where the
    next unread stream token is: (pass, file, document in file, offset into that document's
    tokens + [SEP]). With ``cycle`` the stream restarts at ``start`` after the last file
    (the next pass); without, :meth:`next_block` returns None when fewer than L-2 tokens remain
    (the end of a finite stream, used for the held-out slice).
    """

    def __init__(
        self,
        corpus: Corpus,
        tokenizer: PreTrainedTokenizerBase,
        max_seq_length: int,
        start: tuple[int, int] = (0, 0),
        cycle: bool = False,
    ) -> None:
        if tokenizer.cls_token_id is None or tokenizer.sep_token_id is None:
            raise TinyBertError("--teacher: its tokenizer has no [CLS]/[SEP] tokens; expected a BERT-style tokenizer")
        self.corpus = corpus
        self.tokenizer = tokenizer
        self.block_len = max_seq_length
        self.start = start
        self.cycle = cycle
        self.passes = 0
        self._docs: Iterator[tuple[int, int, str]] = corpus.documents(*start)
        self._doc: tuple[int, int] | None = None  # (file, doc) whose tokens are in self._tokens
        self._tokens: list[int] = []
        self._offset = 0
        self._pass_had_text = False
        self._load_next_doc()

    def _tokenize(self, text: str) -> list[int]:
        # verbose=False: documents are longer than the model's limit on purpose (they get cut).
        ids = self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        return [*ids, self.tokenizer.sep_token_id]

    def _load_next_doc(self) -> bool:
        """Move to the next document (next pass when cycling); False at the end of a finite stream."""
        for _ in range(2):
            try:
                fi, di, text = next(self._docs)
            except StopIteration:
                if not self.cycle:
                    self._doc, self._tokens, self._offset = None, [], 0
                    return False
                if not self._pass_had_text:
                    raise TinyBertError(
                        f"--corpus: no training text: {len(self.corpus.files)} file(s), and no document left "
                        "after the held-out slice (check --corpus-format, or lower --eval-blocks)"
                    ) from None
                self.passes += 1
                self._pass_had_text = False
                self._docs = self.corpus.documents(*self.start)
                continue
            self._doc, self._tokens, self._offset = (fi, di), self._tokenize(text), 0
            self._pass_had_text = True
            return True
        raise AssertionError("unreachable: a pass with text always yields a document")

    def next_block(self) -> list[int] | None:
        """The next block of ``max_seq_length`` ids, or None at the end of a finite stream."""
        need = self.block_len - 2
        body: list[int] = []
        while len(body) < need:
            if self._doc is None:
                return None
            take = self._tokens[self._offset : self._offset + need - len(body)]
            body.extend(take)
            self._offset += len(take)
            if self._offset == len(self._tokens):  # document used up: move on, so the position stays valid
                more = self._load_next_doc()
                if not more and len(body) < need:
                    return None  # the tail of a finite stream, shorter than a block
        return [self.tokenizer.cls_token_id, *body, self.tokenizer.sep_token_id]

    def next_unused_document(self) -> tuple[int, int]:
        """(file, document) of the first document no block so far has touched."""
        if self._doc is None:
            return (len(self.corpus.files), 0)
        fi, di = self._doc
        return (fi, di + 1) if self._offset > 0 else (fi, di)

    def state_dict(self) -> dict:
        file, doc = self._doc if self._doc is not None else (len(self.corpus.files), 0)
        return {"passes": self.passes, "file": file, "doc": doc, "offset": self._offset}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved position: whole files before it are skipped, not read."""
        self.passes = int(state["passes"])
        self._docs = self.corpus.documents(int(state["file"]), int(state["doc"]))
        self._pass_had_text = False
        if not self._load_next_doc():
            return
        if self._doc != (int(state["file"]), int(state["doc"])):
            raise TinyBertError(
                "--resume: the corpus changed since the checkpoint (the saved position is no longer a document)"
            )
        self._offset = int(state["offset"])


def heldout_blocks(
    corpus: Corpus, tokenizer: PreTrainedTokenizerBase, config: CorpusConfig
) -> tuple[torch.Tensor, tuple[int, int]]:
    """The held-out blocks (N, L) from the start of the corpus, and the (file, document) where
    training starts: the first document none of them touched."""
    if config.eval_blocks == 0:
        return torch.empty(0, config.max_seq_length, dtype=torch.long), (0, 0)
    packer = Packer(corpus, tokenizer, config.max_seq_length)
    blocks = []
    for _ in range(config.eval_blocks):
        block = packer.next_block()
        if block is None:
            raise TinyBertError(
                f"--corpus: {len(corpus.files)} file(s) give only {len(blocks)} blocks of "
                f"{config.max_seq_length} tokens, not enough for --eval-blocks {config.eval_blocks} and "
                "training text after them; add text or lower --eval-blocks"
            )
        blocks.append(block)
    return torch.tensor(blocks, dtype=torch.long), packer.next_unused_document()


class BlockStream:
    """Training batches: blocks from a cycling :class:`Packer`, drawn through a shuffle buffer.

    ``state_dict``/``load_state_dict`` make it a checkpointable object for Accelerate's
    ``register_for_checkpointing``: position, buffered blocks and the buffer's RNG state.
    """

    def __init__(
        self,
        corpus: Corpus,
        tokenizer: PreTrainedTokenizerBase,
        config: CorpusConfig,
        start: tuple[int, int],
        seed: int,
    ) -> None:
        self.packer = Packer(corpus, tokenizer, config.max_seq_length, start=start, cycle=True)
        self.buffer_size = max(1, config.shuffle_buffer)
        self.rng = random.Random(seed)
        self.buffer: list[list[int]] = []
        self.blocks_drawn = 0

    def next_block(self) -> list[int]:
        while len(self.buffer) < self.buffer_size:
            block = self.packer.next_block()
            assert block is not None  # a cycling packer never ends
            self.buffer.append(block)
        # Swap the drawn block with the last one and pop: O(1) removal from the buffer.
        i = self.rng.randrange(len(self.buffer))
        self.buffer[i], self.buffer[-1] = self.buffer[-1], self.buffer[i]
        self.blocks_drawn += 1
        return self.buffer.pop()

    def next_batch(self, batch_size: int) -> dict[str, torch.Tensor]:
        """``input_ids`` and ``attention_mask``, both (batch_size, L); every token is real."""
        ids = torch.tensor([self.next_block() for _ in range(batch_size)], dtype=torch.long)  # (B, L)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    @property
    def passes(self) -> int:
        """Completed passes over the training text."""
        return self.packer.passes

    def state_dict(self) -> dict:
        width = self.packer.block_len
        return {
            "packer": self.packer.state_dict(),
            "buffer": torch.tensor(self.buffer, dtype=torch.long).reshape(-1, width),  # (n, L)
            "rng": self.rng.getstate(),
            "blocks_drawn": self.blocks_drawn,
        }

    def load_state_dict(self, state: dict) -> None:
        self.packer.load_state_dict(state["packer"])
        self.buffer = [row.tolist() for row in state["buffer"]]
        self.rng.setstate(_as_tuple(state["rng"]))
        self.blocks_drawn = int(state["blocks_drawn"])


def _as_tuple(value: object) -> object:
    """``random.Random.setstate`` needs tuples; a round trip through a checkpoint may give lists."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, list | tuple) else value
