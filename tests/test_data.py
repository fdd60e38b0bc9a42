"""Tests of tinybert.data: task specs, GLUE and generic readers, encoding and batching.

Every data file is written into ``tmp_path`` by the test itself; only the integration test
reads the real GLUE files (and skips when they are absent).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from transformers import BertTokenizerFast

from builders import SHARED_DATA
from tinybert.data import (
    GLUE_TASKS,
    Example,
    encode,
    get_task,
    load_custom,
    load_glue,
    make_loader,
    read_table,
)
from tinybert.errors import TinyBertError

# --------------------------------------------------------------------------------------------
# helpers


def write(path: Path, text: str, bom: bool = False) -> Path:
    """Write ``text`` as UTF-8 (optionally with a BOM), creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def tsv(*rows: tuple[str, ...] | list[str]) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


@contextmanager
def raises_with(*fragments: str) -> Iterator[pytest.ExceptionInfo[TinyBertError]]:
    """Expect a TinyBertError whose one-line message contains every fragment."""
    with pytest.raises(TinyBertError) as info:
        yield info
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


SST2_HEADER = ("sentence", "label")
MNLI_DEV_HEADER = (
    "index",
    "promptID",
    "pairID",
    "genre",
    "sentence1_binary_parse",
    "sentence2_binary_parse",
    "sentence1_parse",
    "sentence2_parse",
    "sentence1",
    "sentence2",
    "label1",
    "label2",
    "label3",
    "label4",
    "label5",
    "gold_label",
)
STSB_HEADER = (
    "index",
    "genre",
    "filename",
    "year",
    "old_index",
    "source1",
    "source2",
    "sentence1",
    "sentence2",
    "score",
)


def mnli_row(i: int, s1: str, s2: str, label: str) -> list[str]:
    return [str(i), "p", "q", "fiction", "(b)", "(b)", "(p)", "(p)", s1, s2, label, label, label, label, label, label]


def stsb_row(i: int, s1: str, s2: str, score: str) -> list[str]:
    return [str(i), "main-captions", "MSRvid", "2012test", f"{i:04d}", "none", "none", s1, s2, score]


@pytest.fixture
def glue_dir(tmp_path: Path) -> Path:
    """A miniature GLUE root with SST-2, CoLA, MRPC, MNLI, STS-B, QNLI, QQP, RTE and WNLI."""
    root = tmp_path / "glue"
    write(
        root / "SST-2" / "train.tsv",
        tsv(SST2_HEADER, ("it 's a charming journey . ", "1"), ('a " quoted bit', "0"), ("bleak", "0")),
    )
    write(root / "SST-2" / "dev.tsv", tsv(SST2_HEADER, ("great fun", "1"), ("dull", "0")))
    write(root / "SST-2" / "test.tsv", tsv(("index", "sentence"), ("0", "unseen"), ("1", "also unseen")))
    cola_rows = [("gj04", "1", "", "The sailors rode the breeze."), ("gj04", "0", "*", "Rode the sailors breeze.")]
    write(root / "CoLA" / "train.tsv", tsv(*cola_rows))
    write(root / "CoLA" / "dev.tsv", tsv(*cola_rows[::-1]).rstrip("\n"))  # no final newline, like GLUE
    write(root / "CoLA" / "test.tsv", tsv(("index", "sentence"), ("0", "Bill whistled.")))
    mrpc_header = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")
    mrpc_rows = [
        ("1", "1355540", "1355592", "He said the pie business doesn 't fit .", '" The pie business does not fit .'),
        ("0", "2029631", "2029565", "Magnarelli said Racicot hated it .", 'His wife said he was " 100 percent "'),
    ]
    write(root / "MRPC" / "train.tsv", tsv(mrpc_header, *mrpc_rows), bom=True)
    write(root / "MRPC" / "dev.tsv", tsv(mrpc_header, *mrpc_rows[::-1]), bom=True)
    write(root / "MNLI" / "train.tsv", tsv(MNLI_DEV_HEADER, mnli_row(0, "A man runs.", "A man moves.", "entailment")))
    write(
        root / "MNLI" / "dev_matched.tsv",
        tsv(
            MNLI_DEV_HEADER,
            mnli_row(0, "A cat sleeps.", "A cat is awake.", "contradiction"),
            mnli_row(1, "It rains.", "It is wet.", "entailment"),
        ),
    )
    write(
        root / "MNLI" / "dev_mismatched.tsv",
        tsv(MNLI_DEV_HEADER, mnli_row(0, "Stocks fell.", "Markets moved.", "neutral")),
    )
    write(
        root / "STS-B" / "dev.tsv",
        tsv(STSB_HEADER, stsb_row(0, "A plane takes off.", "An air plane is taking off.", "5.000")),
    )
    write(
        root / "STS-B" / "train.tsv",
        tsv(STSB_HEADER, stsb_row(0, "A man plays.", "A man is playing.", "4.2"), stsb_row(1, "x y", "z", "0")),
    )
    qnli_header = ("index", "question", "sentence", "label")
    write(
        root / "QNLI" / "dev.tsv",
        tsv(
            qnli_header,
            ("0", "What came?", "The constitution came.", "entailment"),
            ("1", "Who?", "No.", "not_entailment"),
        ),
    )
    qqp_header = ("id", "qid1", "qid2", "question1", "question2", "is_duplicate")
    write(
        root / "QQP" / "dev.tsv",
        tsv(
            qqp_header,
            ("1", "1", "2", "How do I learn?", "How can I learn?", "1"),
            ("2", "3", "4", "Was Muhammad real? What is", ""),  # a question broken over two lines
            ("", "the evidence?", "0"),
            ("3", "5", "6", "Why is the sky blue?", "What is rain?", "0"),
        ),
    )
    pair_header = ("index", "sentence1", "sentence2", "label")
    write(root / "RTE" / "dev.tsv", tsv(pair_header, ("0", "Dogs bark.", "Animals make sounds.", "entailment")))
    write(root / "WNLI" / "dev.tsv", tsv(pair_header, ("0", "He left.", "He stayed.", "0"), ("1", "A b.", "A.", "1")))
    return root


# --------------------------------------------------------------------------------------------
# task specs


def test_glue_tasks_specs() -> None:
    assert set(GLUE_TASKS) == {"sst2", "cola", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli"}
    assert get_task("sst2").label_names == ("negative", "positive")
    assert get_task("mnli").label_names == ("contradiction", "entailment", "neutral")
    assert get_task("wnli").label_names == ("not_entailment", "entailment")
    assert get_task("mnli").eval_files == {"dev_matched": "dev_matched.tsv", "dev_mismatched": "dev_mismatched.tsv"}
    stsb = get_task("stsb")
    assert stsb.is_regression and stsb.label_names is None and stsb.main_metric == "pearson"
    mains = {name: spec.main_metric for name, spec in GLUE_TASKS.items()}
    assert mains == {
        "sst2": "accuracy",
        "cola": "mcc",
        "mrpc": "accuracy_and_f1",
        "stsb": "pearson",
        "qqp": "accuracy_and_f1",
        "mnli": "accuracy",
        "qnli": "accuracy",
        "rte": "accuracy",
        "wnli": "accuracy",
    }
    assert get_task("sst2").max_seq_length == 64 and not get_task("sst2").is_pair
    assert get_task("mrpc").max_seq_length == 128 and get_task("mrpc").is_pair
    assert hash(get_task("cola")) == hash(get_task("CoLA"))


def test_get_task_normalises_names() -> None:
    assert get_task("SST-2") is GLUE_TASKS["sst2"]
    assert get_task("STS_B") is GLUE_TASKS["stsb"]


def test_get_task_unknown_lists_valid_names() -> None:
    with raises_with("'imdb'", "sst2", "wnli"):
        get_task("imdb")


# --------------------------------------------------------------------------------------------
# GLUE readers


def test_sst2_labels_texts_and_test_split(glue_dir: Path) -> None:
    data = load_glue("sst2", glue_dir, splits=("train", "dev", "test"))
    assert [ex.label for ex in data.train] == ["positive", "negative", "negative"]
    assert data.train[0].text_a == "it 's a charming journey ."  # trailing whitespace stripped
    assert data.train[1].text_a == 'a " quoted bit'  # quotes are plain characters in GLUE
    assert data.train[0].text_b is None
    assert [ex.label for ex in data.evals["dev"]] == ["positive", "negative"]
    assert [ex.label for ex in data.evals["test"]] == [None, None]


def test_cola_headerless_train_and_dev(glue_dir: Path) -> None:
    data = load_glue("cola", glue_dir)
    assert [(ex.text_a, ex.label) for ex in data.train] == [
        ("The sailors rode the breeze.", "acceptable"),
        ("Rode the sailors breeze.", "unacceptable"),
    ]
    assert [ex.label for ex in data.evals["dev"]] == ["unacceptable", "acceptable"]
    test = load_glue("cola", glue_dir, splits=["test"]).evals["test"]
    assert test == [Example("Bill whistled.", None, None)]


def test_mrpc_with_bom(glue_dir: Path) -> None:
    data = load_glue("mrpc", glue_dir / "MRPC", splits=["dev"])  # the task folder itself also works
    first, second = data.evals["dev"]
    assert data.train == []
    assert first.label == "not_equivalent" and second.label == "equivalent"
    assert second.text_b == '" The pie business does not fit .'
    assert first.text_b == 'His wife said he was " 100 percent "'


def test_mnli_dev_means_matched_and_mismatched(glue_dir: Path) -> None:
    data = load_glue("mnli", glue_dir)
    assert set(data.evals) == {"dev_matched", "dev_mismatched"}
    assert [ex.label for ex in data.evals["dev_matched"]] == ["contradiction", "entailment"]
    assert data.evals["dev_mismatched"] == [Example("Stocks fell.", "Markets moved.", "neutral")]
    assert data.train == [Example("A man runs.", "A man moves.", "entailment")]
    only = load_glue("mnli", glue_dir, splits=["dev_mismatched"])
    assert list(only.evals) == ["dev_mismatched"]


def test_stsb_float_labels(glue_dir: Path) -> None:
    data = load_glue("stsb", glue_dir)
    assert [ex.label for ex in data.train] == [4.2, 0.0]
    assert all(isinstance(ex.label, float) for ex in data.train)
    assert data.evals["dev"][0].text_b == "An air plane is taking off."


def test_qnli_rte_wnli(glue_dir: Path) -> None:
    qnli = load_glue("qnli", glue_dir, splits=["dev"]).evals["dev"]
    assert qnli[0] == Example("What came?", "The constitution came.", "entailment")
    assert qnli[1].label == "not_entailment"
    rte = load_glue("rte", glue_dir, splits=["dev"]).evals["dev"]
    assert rte[0].label == "entailment"
    wnli = load_glue("wnli", glue_dir, splits=["dev"]).evals["dev"]
    assert [ex.label for ex in wnli] == ["not_entailment", "entailment"]


def test_qqp_skips_known_malformed_rows_with_warning(glue_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        data = load_glue("qqp", glue_dir, splits=["dev"])
    assert [ex.label for ex in data.evals["dev"]] == ["duplicate", "not_duplicate"]
    assert any("skipped 2 malformed rows" in record.getMessage() for record in caplog.records)


def test_max_samples_keeps_first_rows(glue_dir: Path) -> None:
    data = load_glue("sst2", glue_dir, max_samples={"train": 2, "eval": 1})
    assert [ex.text_a for ex in data.train] == ["it 's a charming journey .", 'a " quoted bit']
    assert len(data.evals["dev"]) == 1
    data = load_glue("mnli", glue_dir, splits=["dev"], max_samples={"eval": 1, "dev_mismatched": 5})
    assert len(data.evals["dev_matched"]) == 1 and len(data.evals["dev_mismatched"]) == 1


def test_data_dir_may_be_the_parent_of_glue(glue_dir: Path) -> None:
    data = load_glue("sst2", glue_dir.parent, splits=["dev"])
    assert len(data.evals["dev"]) == 2


def test_glue_missing_dir(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with raises_with(str(missing), "SST-2"):
        load_glue("sst2", missing)


def test_glue_missing_task_folder(glue_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with raises_with(str(empty), "SST-2"):
        load_glue("sst2", empty)


def test_glue_missing_file(glue_dir: Path) -> None:
    (glue_dir / "MNLI" / "dev_mismatched.tsv").unlink()
    with raises_with(str(glue_dir / "MNLI" / "dev_mismatched.tsv"), "dev_mismatched"):
        load_glue("mnli", glue_dir, splits=["dev"])


def test_glue_empty_file(glue_dir: Path) -> None:
    path = write(glue_dir / "SST-2" / "dev.tsv", "")
    with raises_with(str(path), "empty"):
        load_glue("sst2", glue_dir, splits=["dev"])


def test_glue_header_only(glue_dir: Path) -> None:
    path = write(glue_dir / "SST-2" / "dev.tsv", tsv(SST2_HEADER))
    with raises_with(str(path), "no data rows"):
        load_glue("sst2", glue_dir, splits=["dev"])


def test_glue_missing_column(glue_dir: Path) -> None:
    path = write(glue_dir / "SST-2" / "dev.tsv", tsv(("sentence", "polarity"), ("fine", "1")))
    with raises_with(str(path), "'label'", "'polarity'"):
        load_glue("sst2", glue_dir, splits=["dev"])


def test_glue_malformed_row(glue_dir: Path) -> None:
    path = write(glue_dir / "SST-2" / "dev.tsv", tsv(SST2_HEADER, ("fine", "1"), ("too", "many", "1")))
    with raises_with(f"{path}:3", "expected 2 fields", "found 3"):
        load_glue("sst2", glue_dir, splits=["dev"])


def test_glue_trailing_tab_is_tolerated(glue_dir: Path) -> None:
    write(glue_dir / "SST-2" / "dev.tsv", "sentence\tlabel \nfine\t1\t\n")
    assert load_glue("sst2", glue_dir, splits=["dev"]).evals["dev"] == [Example("fine", None, "positive")]


def test_glue_unknown_label(glue_dir: Path) -> None:
    path = write(glue_dir / "SST-2" / "dev.tsv", tsv(SST2_HEADER, ("fine", "1"), ("meh", "2")))
    with raises_with(f"{path}:3", "'2'", "'0', '1'"):
        load_glue("sst2", glue_dir, splits=["dev"])


def test_glue_unknown_label_headerless_cola(glue_dir: Path) -> None:
    path = write(glue_dir / "CoLA" / "dev.tsv", tsv(("gj04", "yes", "", "A sentence.")))
    with raises_with(f"{path}:1", "'yes'"):
        load_glue("cola", glue_dir, splits=["dev"])


def test_glue_stsb_non_numeric_score(glue_dir: Path) -> None:
    path = write(glue_dir / "STS-B" / "dev.tsv", tsv(STSB_HEADER, stsb_row(0, "a", "b", "high")))
    with raises_with(f"{path}:2", "'high'", "number"):
        load_glue("stsb", glue_dir, splits=["dev"])


def test_glue_empty_text(glue_dir: Path) -> None:
    path = write(glue_dir / "SST-2" / "dev.tsv", tsv(SST2_HEADER, ("  ", "1")))
    with raises_with(f"{path}:2", "empty text"):
        load_glue("sst2", glue_dir, splits=["dev"])


def test_glue_bad_options(glue_dir: Path) -> None:
    with raises_with("splits", "'validation'", "dev"):
        load_glue("sst2", glue_dir, splits=["validation"])
    with raises_with("max_samples", "'valid'"):
        load_glue("sst2", glue_dir, max_samples={"valid": 3})
    with raises_with("max_samples", "positive integer"):
        load_glue("sst2", glue_dir, max_samples={"train": 0})


# --------------------------------------------------------------------------------------------
# generic files


def test_read_csv_one_column(tmp_path: Path) -> None:
    path = write(tmp_path / "reviews.csv", 'text,label\n"good, really",pos\nbad ,neg\n')
    assert read_table(path, ["text"], "label") == [
        Example("good, really", None, "pos"),
        Example("bad", None, "neg"),
    ]


def test_read_csv_two_columns_unlabelled_and_max_samples(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.csv", "premise,hypothesis,y\na,b,1\nc,d,0\ne,f,1\n")
    assert read_table(path, ["premise", "hypothesis"], None, max_samples=2) == [
        Example("a", "b", None),
        Example("c", "d", None),
    ]


def test_read_tsv_quoted_and_raw(tmp_path: Path) -> None:
    quoted = write(tmp_path / "quoted.tsv", 'text\tlabel\n"with\ttab"\t1\nplain\t0\n')
    assert read_table(quoted, ["text"], "label")[0] == Example("with\ttab", None, "1")
    raw = write(tmp_path / "raw.tsv", 'text\tlabel\n" opening quote only\t1\nsaid "hi" twice\t0\n')
    assert [ex.text_a for ex in read_table(raw, ["text"], "label")] == ['" opening quote only', 'said "hi" twice']


def test_read_jsonl_pairs_regression(tmp_path: Path) -> None:
    lines = [{"a": "one", "b": "two", "score": 1.5}, {"a": "three", "b": "four", "score": "2"}]
    path = write(tmp_path / "data.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert read_table(path, ["a", "b"], "score", regression=True) == [
        Example("one", "two", 1.5),
        Example("three", "four", 2.0),
    ]


def test_read_jsonl_classification_labels_are_strings(tmp_path: Path) -> None:
    path = write(tmp_path / "data.jsonl", '{"text": "x", "label": 1}\n{"text": "y", "label": " neg "}\n')
    assert [ex.label for ex in read_table(path, ["text"], "label")] == ["1", "neg"]


def test_read_json_array_and_json_lines(tmp_path: Path) -> None:
    array = write(tmp_path / "array.json", '[{"text": "a", "label": "x"},\n {"text": "b", "label": "y"}]')
    assert read_table(array, ["text"], "label") == [Example("a", None, "x"), Example("b", None, "y")]
    lines = write(tmp_path / "lines.json", '{"text": "c", "label": "z"}\n')
    assert read_table(lines, ["text"], "label") == [Example("c", None, "z")]


def test_read_table_missing_file(tmp_path: Path) -> None:
    with raises_with("missing.csv", "not found"):
        read_table(tmp_path / "missing.csv", ["text"], "label")


def test_read_table_empty_files(tmp_path: Path) -> None:
    for name, text in [("empty.csv", ""), ("header.csv", "text,label\n"), ("empty.jsonl", "\n\n")]:
        path = write(tmp_path / name, text)
        with raises_with(str(path)):
            read_table(path, ["text"], "label")


def test_read_table_missing_column_lists_available(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", "sentence,label\nhi,1\n")
    with raises_with(str(path), "'text'", "'sentence', 'label'"):
        read_table(path, ["text"], "label")
    jsonl = write(tmp_path / "data.jsonl", '{"sentence": "hi", "label": 1}\n')
    with raises_with(f"{jsonl}:1", "'text'", "'sentence'"):
        read_table(jsonl, ["text"], "label")


def test_read_table_malformed_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", "text,label\nok,1\nextra,1,2\n")
    with raises_with(f"{path}:3", "expected 2 fields"):
        read_table(path, ["text"], "label")
    unterminated = write(tmp_path / "quote.csv", 'text,label\nok,1\n"never closed,1\n')
    with raises_with(f"{unterminated}:3", "malformed"):
        read_table(unterminated, ["text"], "label")
    tsv_path = write(tmp_path / "data.tsv", "text\tlabel\nok\t1\nbad\n")
    with raises_with(f"{tsv_path}:3", "found 1"):
        read_table(tsv_path, ["text"], "label")


def test_read_table_bad_json(tmp_path: Path) -> None:
    path = write(tmp_path / "data.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label: 0}\n')
    with raises_with(f"{path}:2", "invalid JSON"):
        read_table(path, ["text"], "label")
    not_object = write(tmp_path / "list.jsonl", '["a", 1]\n')
    with raises_with(f"{not_object}:1", "JSON object"):
        read_table(not_object, ["text"], "label")


def test_read_table_empty_text_and_bad_regression_label(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", "text,label\nfine,1\n ,0\n")
    with raises_with(f"{path}:3", "empty text", "'text'"):
        read_table(path, ["text"], "label")
    reg = write(tmp_path / "reg.csv", "text,score\nfine,0.5\nbad,lots\n")
    with raises_with(f"{reg}:3", "'lots'", "number"):
        read_table(reg, ["text"], "score", regression=True)


def test_read_table_bad_options(tmp_path: Path) -> None:
    path = write(tmp_path / "data.csv", "text,label\nfine,1\n")
    with raises_with("text_columns"):
        read_table(path, ["a", "b", "c"], "label")
    with raises_with(".xlsx"):
        read_table(tmp_path / "data.xlsx", ["text"], "label")


def test_load_custom_classification(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", "text,label\na,10\nb,2\nc,2\nd,1\n")
    dev = write(tmp_path / "dev.jsonl", '{"text": "e", "label": 2}\n')
    data = load_custom(train, {"dev": dev}, ["text"], "label")
    spec = data.spec
    assert spec.name == "custom" and not spec.is_regression and not spec.is_pair
    assert spec.label_names == ("1", "2", "10")  # numeric-looking labels sort numerically
    assert spec.main_metric == "accuracy" and spec.max_seq_length == 64
    assert spec.train_file is None and spec.eval_files == {}
    assert len(data.train) == 4 and data.evals["dev"] == [Example("e", None, "2")]


def test_load_custom_pairs_regression_and_eval_only(tmp_path: Path) -> None:
    dev = write(tmp_path / "dev.tsv", "s1\ts2\tscore\na\tb\t0.5\nc\td\t4\n")
    data = load_custom(None, {"dev": dev}, ["s1", "s2"], "score", regression=True, max_samples={"eval": 1})
    assert data.train == [] and data.evals["dev"] == [Example("a", "b", 0.5)]
    assert data.spec.is_pair and data.spec.max_seq_length == 128
    assert data.spec.label_names is None and data.spec.main_metric == "pearson"
    labels_from_eval = load_custom(None, {"dev": write(tmp_path / "d.csv", "t,l\nx,b\ny,a\n")}, ["t"], "l")
    assert labels_from_eval.spec.label_names == ("a", "b")


def test_load_custom_errors(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", "text,label\na,pos\nb,neg\n")
    dev = write(tmp_path / "dev.csv", "text,label\nc,neutral\n")
    with raises_with(str(dev), "'neutral'", "neg, pos"):
        load_custom(train, {"dev": dev}, ["text"], "label")
    with raises_with("no files"):
        load_custom(None, {}, ["text"], "label")


# --------------------------------------------------------------------------------------------
# encode / make_loader

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "movie", "film", "is", "was", "good", "bad"]
VOCAB += ["very", "not", "great", "plot", "awful", "fun"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> BertTokenizerFast:
    """A tiny offline WordPiece tokenizer built from a vocab file."""
    folder = tmp_path_factory.mktemp("tok")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    # from_pretrained on the folder reads vocab.txt (in transformers 5 the vocab_file= keyword
    # of the constructor is ignored and would give a tokenizer with only special tokens).
    return BertTokenizerFast.from_pretrained(str(folder))


def test_tokenizer_uses_the_vocab(tokenizer: BertTokenizerFast) -> None:
    assert tokenizer("the movie")["input_ids"] == [2, 5, 7, 3]


def test_encode_single_truncates_without_padding(tokenizer: BertTokenizerFast) -> None:
    examples = [Example("the movie is very very very good", None, "positive"), Example("bad", None, "negative")]
    features = encode(
        examples, tokenizer, max_seq_length=5, label2id={"negative": 0, "positive": 1}, is_regression=False
    )
    assert features[0]["input_ids"] == [2, 5, 7, 9, 3]
    assert features[1] == {
        "input_ids": [2, 12, 3],
        "attention_mask": [1, 1, 1],
        "token_type_ids": [0, 0, 0],
        "labels": 0,
    }
    assert features[0]["labels"] == 1


def test_encode_pairs_regression_and_unlabelled(tokenizer: BertTokenizerFast) -> None:
    features = encode([Example("the film", "a plot", 3.5)], tokenizer, 16, None, is_regression=True)
    assert features[0]["input_ids"] == [2, 5, 8, 3, 6, 16, 3]
    assert features[0]["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]
    assert features[0]["labels"] == 3.5 and isinstance(features[0]["labels"], float)
    long_pair = encode([Example("the film " * 10, "a", None)], tokenizer, 8, None, is_regression=False)
    assert len(long_pair[0]["input_ids"]) == 8 and "labels" not in long_pair[0]


def test_encode_unknown_label(tokenizer: BertTokenizerFast) -> None:
    with raises_with("'neutral'", "'negative'", "'positive'"):
        encode([Example("fun", None, "neutral")], tokenizer, 16, {"negative": 0, "positive": 1}, False)


def _features(tokenizer: BertTokenizerFast, n: int, regression: bool = False) -> list[dict]:
    words = ["good", "bad", "fun", "plot"]
    examples = [
        Example(" ".join(["the"] + [words[i % 4]] * (i % 7)), None, float(i) / 2 if regression else words[i % 2])
        for i in range(n)
    ]
    label2id = None if regression else {"good": 0, "bad": 1}
    return encode(examples, tokenizer, 32, label2id, is_regression=regression)


def test_make_loader_pads_dynamically_in_order(tokenizer: BertTokenizerFast) -> None:
    features = _features(tokenizer, 10)
    batches = list(make_loader(features, tokenizer, batch_size=4, shuffle=False))
    assert [len(b["labels"]) for b in batches] == [4, 4, 2]
    for start, batch in zip(range(0, 10, 4), batches, strict=True):
        members = features[start : start + 4]
        longest = max(len(f["input_ids"]) for f in members)
        assert batch["input_ids"].shape == (len(members), longest)
        assert batch["attention_mask"].sum(dim=1).tolist() == [len(f["input_ids"]) for f in members]
        assert batch["labels"].tolist() == [f["labels"] for f in members]
        assert batch["labels"].dtype == torch.long
    assert batches[0]["input_ids"].shape[1] != batches[1]["input_ids"].shape[1]  # not one global length


def test_make_loader_regression_labels_are_float(tokenizer: BertTokenizerFast) -> None:
    batch = next(iter(make_loader(_features(tokenizer, 4, regression=True), tokenizer, 4, shuffle=False)))
    assert batch["labels"].dtype == torch.float32
    assert batch["labels"].tolist() == [0.0, 0.5, 1.0, 1.5]


def _order(loader) -> list[list[int]]:
    return [b["input_ids"].tolist() for b in loader]


def test_make_loader_shuffle_is_deterministic(tokenizer: BertTokenizerFast) -> None:
    features = _features(tokenizer, 40)
    first = _order(make_loader(features, tokenizer, 8, shuffle=True, seed=3))
    again = _order(make_loader(features, tokenizer, 8, shuffle=True, seed=3))
    other = _order(make_loader(features, tokenizer, 8, shuffle=True, seed=4))
    plain = _order(make_loader(features, tokenizer, 8, shuffle=False))
    assert first == again
    assert first != other and first != plain
    seen = sorted(row for batch in first for row in batch)
    assert len(seen) == 40  # every example exactly once
    ungrouped = _order(make_loader(features, tokenizer, 8, shuffle=True, seed=3, group_by_length=False))
    assert ungrouped == _order(make_loader(features, tokenizer, 8, shuffle=True, seed=3, group_by_length=False))


def test_make_loader_groups_by_length(tokenizer: BertTokenizerFast) -> None:
    features = _features(tokenizer, 64)
    grouped = make_loader(features, tokenizer, 8, shuffle=True, seed=0)
    padded = sum(int((b["attention_mask"] == 0).sum()) for b in grouped)
    random_ = make_loader(features, tokenizer, 8, shuffle=True, seed=0, group_by_length=False)
    assert padded < sum(int((b["attention_mask"] == 0).sum()) for b in random_)


def test_make_loader_bad_options(tokenizer: BertTokenizerFast) -> None:
    with raises_with("batch_size"):
        make_loader(_features(tokenizer, 2), tokenizer, 0, shuffle=False)
    with raises_with("empty"):
        make_loader([], tokenizer, 4, shuffle=True)


# --------------------------------------------------------------------------------------------
# real data


@pytest.mark.integration
def test_real_glue_dev_sets() -> None:
    root = SHARED_DATA / "glue"
    if not root.is_dir():
        pytest.skip(f"GLUE data not found at {root}")
    expected = {"sst2": 872, "cola": 1043, "mrpc": 408}
    for task, count in expected.items():
        if not (root / {"sst2": "SST-2", "cola": "CoLA", "mrpc": "MRPC"}[task]).is_dir():
            pytest.skip(f"{task} data not found under {root}")
        dev = load_glue(task, root, splits=["dev"]).evals["dev"]
        assert len(dev) == count
        assert {ex.label for ex in dev} == set(GLUE_TASKS[task].label_names or ())
        assert all(ex.text_a for ex in dev)
        assert all((ex.text_b is not None) == GLUE_TASKS[task].is_pair for ex in dev)
