"""The demo's generated data set, and a smoke run of `tinybert demo` on a tiny model."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml

from builders import make_model, run_cli
from tinybert.pipeline.demo_data import HELD_OUT, TRAIN, write_demo_data
from tinybert.results import (
    AugmentResult,
    BenchmarkResult,
    DistillResult,
    EvaluationRecord,
    ExportResult,
    FinetuneResult,
    parse,
)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _words(rows: list[dict[str, str]]) -> set[str]:
    return {w for row in rows for w in row["sentence"].split()}


def test_demo_data_is_deterministic(tmp_path: Path) -> None:
    a = write_demo_data(tmp_path / "a", n_train=300, n_dev=50, n_test=80, seed=3)
    b = write_demo_data(tmp_path / "b", n_train=300, n_dev=50, n_test=80, seed=3)
    write_demo_data(tmp_path / "c", n_train=300, n_dev=50, n_test=80, seed=4)
    for name in ("train.csv", "dev.csv", "test.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "train.csv").read_bytes() != (tmp_path / "c" / "train.csv").read_bytes()
    assert a["examples"] == b["examples"] == {"train": 300, "dev": 50, "test": 80}
    assert all(0.35 < share < 0.65 for share in a["positive_share"].values())


def test_demo_splits_are_disjoint_in_the_intended_words(tmp_path: Path) -> None:
    write_demo_data(tmp_path, n_train=1500, n_dev=300, n_test=600, seed=0)
    train, dev, test = (_rows(tmp_path / f"{s}.csv") for s in ("train", "dev", "test"))
    assert TRAIN.words().isdisjoint(HELD_OUT.words())
    # No held-out sentiment word, intensifier or subject in train; none of train's in dev/test.
    assert _words(train).isdisjoint(HELD_OUT.words())
    assert (_words(dev) | _words(test)).isdisjoint(TRAIN.words())
    # Negation and contrast phrasings: train's "not", "but", "yet" never in dev/test, theirs never in train.
    assert {"not", "but", "yet"} <= _words(train)
    assert (_words(dev) | _words(test)).isdisjoint({"not", "but", "yet"})
    assert {"never", "hardly", "although", "however"} <= _words(dev) | _words(test)
    assert _words(train).isdisjoint({"never", "hardly", "although", "however", "nevertheless"})
    # Every held-out sentiment word is used, and dev/test never share a sentence.
    assert set(HELD_OUT.positive + HELD_OUT.negative) <= _words(test)
    assert not {r["sentence"] for r in dev} & {r["sentence"] for r in test}
    assert {r["label"] for r in train + dev + test} == {"negative", "positive"}


def test_demo_labels_follow_negation_and_contrast(tmp_path: Path) -> None:
    write_demo_data(tmp_path, n_train=600, n_dev=10, n_test=10, seed=1)
    positive, negative = set(TRAIN.positive), set(TRAIN.negative)
    for row in _rows(tmp_path / "train.csv"):
        text = row["sentence"]
        if " but " in text or " yet " in text:
            text = re.split(r" but | yet ", text)[1]  # the clause after the contrast word decides
        words = text.split()
        polarity = "positive" if positive & set(words) else "negative"
        assert positive & set(words) or negative & set(words)
        if "not" in words:
            polarity = "negative" if polarity == "positive" else "positive"
        assert row["label"] == polarity, row["sentence"]


TINY = [
    "finetune.epochs=2",
    "finetune.learning_rate=[2e-3]",
    "augment.n=1",
    "distill.intermediate_epochs=1",
    "distill.prediction_epochs=1",
    "student.layers=2",
    "benchmark.batch_sizes=[1]",
    "benchmark.warmup=0",
    "benchmark.min_repeats=1",
    "benchmark.min_seconds=0",
]


def test_demo_smoke_on_a_tiny_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    base = make_model(tmp_path / "base", labels=None, head=False)
    out = tmp_path / "demo"
    sizes = ["--n-train", "96", "--n-dev", "32", "--n-test", "48"]
    code, text = run_cli(["demo", "--output", out, "--model", base, *sizes, *TINY], monkeypatch, capsys, stdout=True)
    assert code == 0, text
    for name in ("report.md", "report.html", "report.json", "recipe.yaml", "augmented.csv", "student/README.md"):
        assert (out / name).is_file(), name
    for name in ("teacher", "student", "baseline", "export"):
        assert (out / "eval" / f"{name}.json").is_file()
    assert (out / "benchmark" / "benchmark.json").is_file()
    test_rows = json.loads((out / "eval" / "student.json").read_text())["eval"]["test"]
    assert 0 <= test_rows["accuracy"] <= 1
    report = json.loads((out / "report.json").read_text())
    assert [row[0] for row in report["rows"]] == [
        "teacher",
        "student (distilled)",
        "student without distillation",
        "student, onnx int8",
    ]
    flat = text.replace("\n", "")  # rich wraps a long path
    assert "teacher" in text and "report.html" in flat  # the summary table and where the report is
    card = (out / "student" / "README.md").read_text()
    front = yaml.safe_load(card.split("---")[1])
    assert front["model-index"][0]["results"][0]["dataset"]["split"] == "test"
    records = [
        (FinetuneResult, out / "teacher" / "metrics.json"),
        (DistillResult, out / "student" / "metrics.json"),
        (FinetuneResult, out / "baseline" / "metrics.json"),
        (AugmentResult, out / "augment.json"),
        (ExportResult, out / "student-export" / "export.json"),
        (BenchmarkResult, out / "benchmark" / "benchmark.json"),
        *((EvaluationRecord, path) for path in sorted((out / "eval").glob("*.json"))),
    ]
    for cls, path in records:  # every key a command writes is a field of its typed result
        parse(cls, json.loads(path.read_text()), strict=True)

    # Same folder again: every step is skipped, nothing is retrained.
    stamp = (out / "student" / "metrics.json").stat().st_mtime_ns
    code, text = run_cli(["demo", "--output", out, "--model", base, *sizes, *TINY], monkeypatch, capsys, stdout=True)
    assert code == 0, text
    assert text.count("done already, skipped") == 7
    assert (out / "student" / "metrics.json").stat().st_mtime_ns == stamp


def test_demo_refuses_a_foreign_non_empty_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, text = run_cli(["demo", "--output", out, "--model", tmp_path], monkeypatch, capsys, stdout=True)
    assert code == 2
    assert "not empty" in text and "--overwrite" in text
    assert (out / "notes.txt").read_text() == "mine"
