"""Raw-text corpora: file resolution, document formats, block packing, held-out split, stream state."""

from __future__ import annotations

import gzip
import io
from collections import Counter
from pathlib import Path

import pytest
import torch

from builders import SHARED_DATA, make_tokenizer, sentiment_rows
from tinybert.data.corpus import (
    BlockStream,
    Corpus,
    CorpusConfig,
    Packer,
    detect_format,
    heldout_blocks,
    read_documents,
    resolve_files,
)
from tinybert.errors import TinyBertError

L = 16  # block length in these tests: [CLS] + 14 stream tokens + [SEP]


def _docs(n: int, seed: int = 0) -> list[str]:
    """n self-made documents of 1-3 sentences each."""
    rows = [s for s, _ in sentiment_rows(3 * n, seed)]
    return [" ".join(rows[3 * i : 3 * i + 1 + i % 3]) for i in range(n)]


def _write_lines(path: Path, docs: list[str]) -> Path:
    path.write_text("\n".join(docs) + "\n")
    return path


def _stream_tokens(docs: list[str]) -> list[int]:
    """The token stream the packer cuts: each document's tokens, then [SEP]."""
    tok = make_tokenizer()
    out: list[int] = []
    for doc in docs:
        out += tok(doc, add_special_tokens=False)["input_ids"] + [tok.sep_token_id]
    return out


def test_packing_keeps_every_token_once_in_order(tmp_path: Path) -> None:
    docs = _docs(40)
    corpus = Corpus.open([_write_lines(tmp_path / "c.txt", docs)])
    tok = make_tokenizer()
    packer = Packer(corpus, tok, L)
    blocks = []
    while (block := packer.next_block()) is not None:
        blocks.append(block)
    assert all(len(b) == L and b[0] == tok.cls_token_id and b[-1] == tok.sep_token_id for b in blocks)
    assert tok.pad_token_id not in {t for b in blocks for t in b}  # no padding anywhere
    bodies = [t for b in blocks for t in b[1:-1]]
    stream = _stream_tokens(docs)
    # Every stream token in exactly one block, in order; only the final tail shorter than a block is left.
    assert bodies == stream[: len(bodies)]
    assert 0 <= len(stream) - len(bodies) < L - 2
    # Document boundaries: one [SEP] per document inside the block bodies.
    assert bodies.count(tok.sep_token_id) == stream[: len(bodies)].count(tok.sep_token_id)


def test_heldout_slice_and_training_share_no_document(tmp_path: Path) -> None:
    docs = _docs(30)
    corpus = Corpus.open([_write_lines(tmp_path / "c.txt", docs)])
    tok = make_tokenizer()
    config = CorpusConfig(paths=("c",), max_seq_length=L, eval_blocks=3, shuffle_buffer=0)
    held, (file, doc) = heldout_blocks(corpus, tok, config)
    assert held.shape == (3, L) and file == 0
    held_tokens = held[:, 1:-1].reshape(-1).tolist()
    # The held-out blocks cover the first documents; training starts after the last one they touched.
    assert held_tokens == _stream_tokens(docs)[: len(held_tokens)]
    assert len(_stream_tokens(docs[:doc])) >= len(held_tokens) > len(_stream_tokens(docs[: doc - 1]))
    stream = BlockStream(corpus, tok, config, (file, doc), seed=0)
    first = stream.next_block()
    assert first[1 : L - 1] == _stream_tokens(docs[doc:])[: L - 2]


def test_training_stream_cycles_over_the_corpus(tmp_path: Path) -> None:
    docs = _docs(6)
    corpus = Corpus.open([_write_lines(tmp_path / "c.txt", docs)])
    config = CorpusConfig(paths=("c",), max_seq_length=L, eval_blocks=0, shuffle_buffer=0)
    stream = BlockStream(corpus, make_tokenizer(), config, (0, 0), seed=0)
    per_pass = len(_stream_tokens(docs))
    blocks = [stream.next_block() for _ in range(3 * per_pass // (L - 2))]
    assert stream.passes == 2
    bodies = [t for b in blocks for t in b[1:-1]]
    assert bodies == (_stream_tokens(docs) * 3)[: len(bodies)]  # pass after pass, nothing lost at the seams


def test_shuffle_buffer_draws_each_block_once(tmp_path: Path) -> None:
    corpus = Corpus.open([_write_lines(tmp_path / "c.txt", _docs(40))])
    tok = make_tokenizer()
    ordered = BlockStream(corpus, tok, CorpusConfig(paths=("c",), max_seq_length=L, shuffle_buffer=0), (0, 0), 0)
    shuffled = BlockStream(corpus, tok, CorpusConfig(paths=("c",), max_seq_length=L, shuffle_buffer=8), (0, 0), 0)
    n = 20
    drawn = [tuple(shuffled.next_block()) for _ in range(n)]
    assert len(shuffled.buffer) == 7  # refilled to 8 before each draw
    in_order = [tuple(ordered.next_block()) for _ in range(n + 7)]
    assert drawn != in_order[:n]  # shuffled
    assert Counter(drawn) + Counter(map(tuple, shuffled.buffer)) == Counter(in_order)  # nothing lost or repeated


def test_stream_state_round_trip_continues_exactly(tmp_path: Path) -> None:
    for i in range(3):
        _write_lines(tmp_path / f"part{i}.txt", _docs(10, seed=i))
    corpus = Corpus.open([tmp_path])
    assert len(corpus.files) == 3
    config = CorpusConfig(paths=("c",), max_seq_length=L, shuffle_buffer=5)
    stream = BlockStream(corpus, make_tokenizer(), config, (0, 2), seed=7)
    for _ in range(23):
        stream.next_block()
    buffer = io.BytesIO()
    torch.save(stream.state_dict(), buffer)  # what Accelerate does with a registered object
    expected = [stream.next_batch(4)["input_ids"] for _ in range(10)]
    restored = BlockStream(corpus, make_tokenizer(), config, (0, 2), seed=0)
    restored.load_state_dict(torch.load(io.BytesIO(buffer.getvalue()), weights_only=True))
    got = [restored.next_batch(4)["input_ids"] for _ in range(10)]
    for a, b in zip(expected, got, strict=True):
        assert torch.equal(a, b)
    assert restored.blocks_drawn == stream.blocks_drawn


def test_formats_are_detected_and_parsed(tmp_path: Path) -> None:
    lines = _write_lines(tmp_path / "lines.txt", ["first doc .", "second doc .", "third ."])
    blank = tmp_path / "blank.txt"
    blank.write_text("doc one line one .\ndoc one line two .\n\n\ndoc two .\n\n")
    wiki = tmp_path / "wiki_00"
    wiki.write_text(
        '<doc id="1" url="?curid=1" title="Redirect">\nRedirect\n\n</doc>\n'
        '<doc id="2" url="?curid=2" title="Good Film">\nGood Film\n\nThe film was good .\nPlot.\nIt is fun .\n</doc>\n'
        "stray text outside a doc\n"
        '<doc id="3" url="?curid=3" title="Sad">\nSad\n\nA sad story .\n</doc>\n'
    )
    packed = tmp_path / "blank.txt.gz"
    with gzip.open(packed, "wt") as f:
        f.write(blank.read_text())
    formats = [detect_format(p) for p in (lines, blank, wiki, packed)]
    assert formats == ["lines", "blank-lines", "wikiextractor", "blank-lines"]
    assert list(read_documents(lines, "lines")) == ["first doc .", "second doc .", "third ."]
    assert list(read_documents(blank, "blank-lines")) == ["doc one line one .\ndoc one line two .", "doc two ."]
    assert list(read_documents(packed, "blank-lines")) == list(read_documents(blank, "blank-lines"))
    # The title line after <doc> is dropped and title-only entries are skipped.
    assert list(read_documents(wiki, "wikiextractor")) == ["The film was good .\nPlot.\nIt is fun .", "A sad story ."]
    # A forced format overrides detection: the blank-line file read one document per line.
    assert len(list(Corpus.open([blank], "lines").documents())) == 3


@pytest.mark.integration
def test_shared_wikiextractor_file_parses_to_its_documented_count() -> None:
    wiki = SHARED_DATA / "wikipedia-en-wikiextractor" / "AA" / "wiki_00"
    if not wiki.is_file():
        pytest.skip("shared Wikipedia text not present")
    assert detect_format(wiki) == "wikiextractor"
    docs = list(read_documents(wiki, "wikiextractor"))
    assert len(docs) == 620  # PROVENANCE.md: 620 of wiki_00's 1,530 <doc> entries have body text
    assert not any("<doc" in d or "</doc>" in d for d in docs)


def test_files_folders_and_globs_resolve_in_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("b/2.txt", "b/1.txt", "b/sub/3.txt", ".hidden/x.txt", "b/.skip", "a.txt"):
        (tmp_path / name).write_text("text .\n")
    got = resolve_files([tmp_path / "b", str(tmp_path / "*.txt"), tmp_path / "b" / "1.txt"])
    rel = [p.relative_to(tmp_path.resolve()).as_posix() for p in got]
    assert rel == ["b/1.txt", "b/2.txt", "b/sub/3.txt", "a.txt"]  # a file named twice is read once


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda t: [t / "missing.txt"], "missing.txt: no such file"),
        (lambda t: [str(t / "*.nothing")], "matches no file"),
        (lambda t: [(t / "empty").mkdir() or t / "empty"], "folder has no files"),
        (lambda t: [], "at least one"),
    ],
)
def test_bad_paths_name_the_argument(tmp_path: Path, make, expected: str) -> None:
    with pytest.raises(TinyBertError, match=expected):
        resolve_files(make(tmp_path))


def test_corpus_without_text_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n   \n")
    corpus = Corpus.open([empty])
    config = CorpusConfig(paths=("x",), max_seq_length=L, eval_blocks=0)
    with pytest.raises(TinyBertError, match="no training text"):
        BlockStream(corpus, make_tokenizer(), config, (0, 0), seed=0).next_block()
    small = Corpus.open([_write_lines(tmp_path / "small.txt", _docs(2))])
    with pytest.raises(TinyBertError, match="--eval-blocks 50"):
        heldout_blocks(small, make_tokenizer(), CorpusConfig(paths=("x",), max_seq_length=L, eval_blocks=50))
    with pytest.raises(TinyBertError, match="--corpus-format"):
        CorpusConfig(paths=("x",), format="xml")
