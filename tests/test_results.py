"""Typed results: a result file's JSON read into its dataclass, and what happens to keys no field declares."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinybert.errors import TinyBertError
from tinybert.results import BenchmarkResult, DistillResult, FinetuneResult, ModelSummary, StageSummary, parse, read

STAGE = {
    "precision": "fp32",
    "epochs": 2.0,
    "learning_rate": 1e-4,
    "batch_size": 8,
    "global_batch_size": 8,
    "steps": 10,
    "seconds": 1.5,
    "best_step": 10,
    "best": {"accuracy": 0.5},
    "sessions": [{"from_step": 0, "to_step": 10, "seconds": 1.5}],
}
DISTILL = {
    "command": "distill",
    "task": "sst2",
    "main_metric": "accuracy",
    "train_examples": 40,
    "features": {"train": 40},
    "teacher": {"path": "t", "eval": {"dev": {"accuracy": 0.8}}, "parameters": 100, "layers": 4, "hidden": 32},
    "student": {
        "eval": {"dev": {"accuracy": 0.6}},
        "parameters": 40,
        "layers": 2,
        "hidden": 16,
        "layer_map": [2, 4],
        "init": "prune",
        "kept_hidden": [0, 3],
    },
    "retention": {"dev": {"accuracy": 0.75}},
    "stages": {"intermediate": {**STAGE, "teacher_cache": {"stored": True, "bytes": 8}}, "prediction": STAGE},
    "max_seq_length": 64,
    "temperature": 1.0,
    "loss_weights": {"attention": 1.0},
    "environment": {"cpu": "x"},
}


def test_a_record_becomes_nested_dataclasses() -> None:
    result = parse(DistillResult, DISTILL, strict=True)
    assert isinstance(result.student, ModelSummary) and isinstance(result.stages["prediction"], StageSummary)
    assert result.stages["intermediate"].teacher_cache == {"stored": True, "bytes": 8}
    assert result.student.layer_map == [2, 4] and result.student.details == {"kept_hidden": [0, 3]}
    assert result.kept == ("dev", "accuracy", 0.75)


def test_an_undeclared_key_is_an_error_when_strict_and_dropped_otherwise() -> None:
    record = {**DISTILL, "surprise": 1}
    with pytest.raises(TinyBertError, match="DistillResult: no field for surprise"):
        parse(DistillResult, record, strict=True)
    assert not hasattr(parse(DistillResult, record), "surprise")
    nested = {**DISTILL, "stages": {"prediction": {**STAGE, "new_figure": 3}}}
    with pytest.raises(TinyBertError, match="StageSummary: no field for new_figure"):
        parse(DistillResult, nested, strict=True)


def test_a_missing_field_is_a_one_line_error() -> None:
    record = {k: v for k, v in DISTILL.items() if k != "main_metric"}
    with pytest.raises(TinyBertError, match=r"DistillResult: .*main_metric"):
        parse(DistillResult, record)


def test_read_gives_none_for_an_absent_file_or_another_commands_record(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    assert read(DistillResult, path) is None
    path.write_text(json.dumps(DISTILL))
    assert read(FinetuneResult, path) is None
    assert read(DistillResult, path) == parse(DistillResult, DISTILL)


def test_benchmark_models_by_path(tmp_path: Path) -> None:
    timing = {
        "batch_size": 1,
        "repeats": 3,
        "p50_ms": 2.0,
        "p90_ms": 2.5,
        "p99_ms": 3.0,
        "mean_ms": 2.1,
        "throughput": 500.0,
        "latency_speedup": 1.0,
        "throughput_speedup": 1.0,
    }
    model = {
        "model": str(tmp_path / "m"),
        "kind": "pytorch",
        "parameters": 10,
        "size_bytes": 40,
        "threads": 1,
        "batches": [timing],
        "size_ratio": 1.0,
        "parameter_ratio": 1.0,
    }
    result = parse(BenchmarkResult, {"environment": {}, "settings": {}, "models": [model]}, strict=True)
    assert result.by_path()[str((tmp_path / "m").resolve())].batches[0].p50_ms == 2.0
