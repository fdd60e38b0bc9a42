"""The report and the model card, from small fixture files (no training)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tinybert.errors import TinyBertError
from tinybert.pipeline.report import ReportModel, ReportSpec, split_stages, write_model_card, write_report


def _jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _train(step: int, **parts: float) -> dict:
    return {"kind": "train", "step": step, "loss": sum(parts.values()), **parts, "lr": 1e-4}


def _finetuned(parameters: int) -> dict:
    """A fine-tuned model's ``metrics.json``, every field of :class:`FinetuneResult`."""
    return {
        "command": "finetune",
        "model": "base",
        "task": "custom",
        "train_examples": 1000,
        "features": {},
        "eval": {"dev": {"accuracy": 0.8}},
        "parameters": parameters,
        "size_bytes": parameters * 4,
        "layers": 6,
        "hidden": 384,
        "student": None,
        "runs": [],
        "best_learning_rate": 1e-4,
        "max_seq_length": 64,
        "environment": {},
    }


def _stage(epochs: int, steps: int, seconds: int, best_step: int) -> dict:
    return {
        "precision": "no",
        "epochs": epochs,
        "learning_rate": 1e-4,
        "batch_size": 32,
        "global_batch_size": 32,
        "steps": steps,
        "seconds": seconds,
        "best_step": best_step,
        "best": {},
        "sessions": [],
    }


def _timing(batch_size: int, p50: float, throughput: float, speedup: float) -> dict:
    return {
        "batch_size": batch_size,
        "repeats": 10,
        "p50_ms": p50,
        "p90_ms": p50,
        "p99_ms": p50,
        "mean_ms": p50,
        "throughput": throughput,
        "latency_speedup": speedup,
        "throughput_speedup": speedup,
    }


@pytest.fixture
def run(tmp_path: Path) -> dict[str, Path]:
    teacher, student, baseline, bench = (tmp_path / n for n in ("teacher", "student", "baseline", "benchmark"))
    for folder in (teacher, student, baseline, bench):
        folder.mkdir()
    (teacher / "metrics.json").write_text(json.dumps(_finetuned(22_700_000)))
    _jsonl(
        teacher / "train_log.jsonl",
        [_train(10, task=0.6), {"kind": "eval", "step": 20, "accuracy": 0.8}, _train(20, task=0.3)],
    )
    (student / "metrics.json").write_text(
        json.dumps(
            {
                "command": "distill",
                "task": "custom",
                "main_metric": "accuracy",
                "train_examples": 1000,
                "features": {},
                "retention": {"dev": {"accuracy": 0.975}},
                "max_seq_length": 64,
                "environment": {},
                "teacher": {"path": "t", "layers": 6, "hidden": 384, "parameters": 22_700_000},
                "student": {
                    "layers": 3,
                    "hidden": 384,
                    "heads": 12,
                    "intermediate": 1536,
                    "parameters": 17_400_000,
                    "layer_map": [2, 4, 6],
                    "init": "teacher",
                    "size_bytes": 70_000_000,
                },
                "stages": {
                    "intermediate": _stage(1, 20, 9, 20),
                    "prediction": _stage(1, 20, 5, 10),
                },
                "loss_weights": {"attention": 1, "hidden": 1},
                "temperature": 1.0,
            }
        )
    )
    _jsonl(
        student / "train_log.jsonl",
        [
            _train(10, attention=3.0, hidden=0.5, embedding=0.1),
            {"kind": "eval", "step": 20, "dev_loss": 3.0},
            _train(20, attention=2.0, hidden=0.4, embedding=0.05),
            _train(10, prediction=0.2),  # the step count restarts: the prediction stage
            {"kind": "eval", "step": 10, "accuracy": 0.82},
            _train(20, prediction=0.1),
            {"kind": "eval", "step": 20, "accuracy": 0.81},
        ],
    )
    (baseline / "metrics.json").write_text(json.dumps(_finetuned(17_400_000)))
    _jsonl(baseline / "train_log.jsonl", [_train(10, task=0.5), {"kind": "eval", "step": 10, "accuracy": 0.7}])
    rows = []
    for folder, p50, params in ((teacher, 20.0, 22_700_000), (student, 10.0, 17_400_000)):
        rows.append(
            {
                "model": str(folder),
                "kind": "pytorch",
                "parameters": params,
                "size_bytes": params * 4,
                "threads": 2,
                "batches": [_timing(1, p50, 1000 / p50, 20.0 / p50), _timing(32, p50 * 10, 3200 / p50, 20.0 / p50)],
                "size_ratio": 22_700_000 / params,
                "parameter_ratio": 22_700_000 / params,
            }
        )
    (bench / "benchmark.json").write_text(
        json.dumps(
            {"environment": {"cpu": "Test CPU", "logical_cores": 2}, "settings": {"seq_len": 32}, "models": rows}
        )
    )
    return {"root": tmp_path, "teacher": teacher, "student": student, "baseline": baseline, "benchmark": bench}


def _spec(run: dict[str, Path]) -> ReportSpec:
    return ReportSpec(
        title="fixture report",
        models=(
            ReportModel("teacher", run["teacher"], {"accuracy": 0.80}, role="teacher"),
            ReportModel("student (distilled)", run["student"], {"accuracy": 0.78}, role="student"),
            ReportModel("student without distillation", run["baseline"], {"accuracy": 0.60}, role="baseline"),
        ),
        main_metric="accuracy",
        split="test",
        benchmark=run["benchmark"],
        command="tinybert demo --output runs/demo",
        recipe="output: runs/demo\nteacher: minilm\n",
    )


def test_report_files_table_and_self_contained_html(run: dict[str, Path]) -> None:
    out = run["root"] / "report"
    summary = write_report(out, _spec(run))
    for name in ("report.md", "report.html", "report.json", "plots/losses.png", "plots/dev_metric.png"):
        assert (out / name).is_file(), name
    rows = {row[0]: row for row in summary.rows}
    assert rows["student (distilled)"][1:4] == ["0.7800", "97.5%", "17.4M"]
    assert rows["student without distillation"][2] == "75.0%"
    assert rows["student (distilled)"][5:] == ["10.0 ms", "320/s", "2.00x"]  # latency, throughput, speedup
    assert rows["student without distillation"][5] == "—"  # not benchmarked

    page = (out / "report.html").read_text()
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == 3  # metrics, losses, dev metric (no benchmark.png in the fixture)
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing outside the file
    md = (out / "report.md").read_text()
    assert "student 1 ← teacher 2, student 2 ← teacher 4, student 3 ← teacher 6" in md
    assert "tinybert demo --output runs/demo" in md and "teacher: minilm" in md
    assert "| torch |" in md  # the environment's package versions


def test_logs_split_into_stages_where_the_step_count_restarts() -> None:
    records = [{"kind": "train", "step": s} for s in (10, 20, 30, 10, 20)]
    stages = split_stages(records, ["a", "b"])
    assert [len(v) for v in stages.values()] == [3, 2] and list(stages) == ["a", "b"]
    assert list(split_stages(records, ["a"])) == ["a", "run 2"]
    # Stages of equal length log the same steps: the change of loss parts starts the next one.
    short = [
        {"kind": "train", "step": 6, "loss": 1.0, "attention": 1.0},
        {"kind": "eval", "step": 6, "dev_loss": 1.0},
        {"kind": "train", "step": 6, "loss": 0.5, "prediction": 0.5},
        {"kind": "eval", "step": 6, "accuracy": 0.9},
    ]
    assert [len(v) for v in split_stages(short, ["i", "p"]).values()] == [2, 2]


def test_model_card_has_hf_front_matter(run: dict[str, Path]) -> None:
    path = write_model_card(_spec(run), dataset="tinybert-demo-sentiment", base_model="org/base")
    text = path.read_text()
    assert path == run["student"] / "README.md"
    front = yaml.safe_load(text.split("---")[1])
    assert front["base_model"] == "org/base" and front["pipeline_tag"] == "text-classification"
    result = front["model-index"][0]["results"][0]
    assert result["metrics"] == [{"type": "accuracy", "value": 0.78, "name": "test accuracy"}]
    assert "97.5% of the teacher" in text and "labels only: 0.6000" in text


def test_spec_needs_one_teacher_and_the_metric(run: dict[str, Path]) -> None:
    with pytest.raises(TinyBertError, match="exactly one model with role 'teacher'"):
        ReportSpec("t", (ReportModel("s", None, {"accuracy": 1.0}),), main_metric="accuracy")
    with pytest.raises(TinyBertError, match="has no 'f1'"):
        ReportSpec("t", (ReportModel("t", None, {"accuracy": 1.0}, role="teacher"),), main_metric="f1")
