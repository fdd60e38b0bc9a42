"""End-to-end CLI runs on tiny random models and self-made data, and the CLI's bad-input errors."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, pipeline

from builders import make_model, run_cli, write_sst2
from tinybert.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny teacher fine-tuned by `tinybert finetune` on self-made SST-2-style data."""
    root = tmp_path_factory.mktemp("e2e")
    data = write_sst2(root / "SST-2", n_train=192, n_dev=64)
    base = make_model(root / "base", labels=None, head=False)  # a "pre-trained" encoder, no task head
    mp = pytest.MonkeyPatch()
    sys_argv = sys.argv
    sys.argv = [
        "tinybert",
        "finetune",
        "--model",
        str(base),
        "--task",
        "sst2",
        "--data-dir",
        str(data),
        "--output",
        str(root / "teacher"),
        "--epochs",
        "6",
        "--batch-size",
        "16",
        "--learning-rate",
        "2e-3",
    ]
    try:
        with pytest.raises(SystemExit) as exit_:
            main()
    finally:
        sys.argv = sys_argv
        mp.undo()
    assert exit_.value.code == 0
    return {"root": root, "data": data, "base": base, "teacher": root / "teacher"}


def test_finetune_writes_a_strong_teacher(trained: dict[str, Path]) -> None:
    metrics = json.loads((trained["teacher"] / "metrics.json").read_text())
    assert metrics["eval"]["dev"]["accuracy"] >= 0.8  # the toy task is easy for the teacher
    model = AutoModelForSequenceClassification.from_pretrained(trained["teacher"])
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert (trained["teacher"] / "train_log.jsonl").is_file()
    assert list((trained["teacher"] / "logs").glob("events.out.tfevents.*"))


def test_distill_all_stages_gives_a_plain_hf_student(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "student"
    code, err = run_cli(
        [
            "distill",
            "--teacher",
            trained["teacher"],
            "--task",
            "sst2",
            "--data-dir",
            trained["data"],
            "--output",
            out,
            "--layers",
            "2",
            "--init",
            "teacher",
            "--epochs",
            "2",
            "--learning-rate",
            "1e-3",
            "--batch-size",
            "16",
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    teacher_acc = metrics["teacher"]["eval"]["dev"]["accuracy"]
    student_acc = metrics["student"]["eval"]["dev"]["accuracy"]
    assert student_acc >= 0.75
    assert metrics["retention"]["dev"]["accuracy"] == pytest.approx(student_acc / teacher_acc)
    assert metrics["student"]["layer_map"] == [2, 4]
    assert metrics["student"]["parameters"] < metrics["teacher"]["parameters"]
    assert set(metrics["stages"]) == {"intermediate", "prediction"}
    # A plain HF folder: no projection weights, the teacher's labels, loads and runs in pipeline().
    weights = load_file(out / "model.safetensors")
    assert not any("projection" in k for k in weights)
    assert not (out / "checkpoints").exists()
    student = AutoModelForSequenceClassification.from_pretrained(out)
    assert student.config.num_hidden_layers == 2
    assert student.config.id2label == {0: "negative", 1: "positive"}
    clf = pipeline("text-classification", model=str(out), device="cpu")
    preds = clf(["the movie was great and fun .", "the plot was awful and boring ."])
    assert {p["label"] for p in preds} <= {"negative", "positive"}
    # Logs of both stages, each loss part.
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    train_keys = set().union(*(r.keys() for r in log if r["kind"] == "train"))
    assert {"attention", "hidden", "embedding", "prediction"} <= train_keys


def test_distill_random_student_in_stages(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    inter = tmp_path / "inter"
    common = [
        "--teacher",
        trained["teacher"],
        "--task",
        "sst2",
        "--data-dir",
        trained["data"],
        "--batch-size",
        "16",
        "--max-train-samples",
        "64",
    ]
    code, err = run_cli(
        [
            "distill",
            *common,
            "--output",
            inter,
            "--stage",
            "intermediate",
            "--layers",
            "2",
            "--hidden",
            "16",
            "--intermediate",
            "32",
            "--epochs",
            "1",
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    assert json.loads((inter / "metrics.json").read_text())["stages"].keys() == {"intermediate"}
    final = tmp_path / "final"
    code, err = run_cli(
        [
            "distill",
            *common,
            "--output",
            final,
            "--stage",
            "prediction",
            "--student",
            inter,
            "--epochs",
            "1",
            "--loss-weights",
            "hard_label=0.5",
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["student"]["hidden"] == 16 and metrics["student"]["init"] == f"folder {inter}"
    assert metrics["loss_weights"]["hard_label"] == 0.5


def test_evaluate_prints_and_writes(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "eval.json"
    code, err = run_cli(
        ["evaluate", "--model", trained["teacher"], "--task", "sst2", "--data-dir", trained["data"], "--output", out],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    result = json.loads(out.read_text())["eval"]["dev"]["accuracy"]
    expected = json.loads((trained["teacher"] / "metrics.json").read_text())["eval"]["dev"]["accuracy"]
    assert result == pytest.approx(expected)


def test_existing_output_is_refused_then_overwritten(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "student"
    out.mkdir()
    keep = out / "notes.txt"
    keep.write_text("mine")
    args = [
        "distill",
        "--teacher",
        trained["teacher"],
        "--task",
        "sst2",
        "--data-dir",
        trained["data"],
        "--output",
        out,
        "--layers",
        "1",
        "--hidden",
        "16",
        "--intermediate",
        "16",
        "--epochs",
        "1",
        "--max-train-samples",
        "16",
        "--max-eval-samples",
        "16",
        "--stage",
        "prediction",
    ]
    code, err = run_cli(args, monkeypatch, capsys)
    assert code == 2 and "--overwrite" in err and keep.read_text() == "mine"
    code, err = run_cli([*args, "--overwrite"], monkeypatch, capsys)
    assert code == 0, err
    assert (out / "model.safetensors").is_file()


def _errors(trained: dict[str, Path], tmp: Path) -> list[tuple[list, str]]:
    t, d = str(trained["teacher"]), str(trained["data"])
    base = ["distill", "--teacher", t, "--output", str(tmp / "o")]
    glue = ["--task", "sst2", "--data-dir", d]
    empty = tmp / "empty"
    empty.mkdir()
    (empty / "train.tsv").write_text("")
    (empty / "dev.tsv").write_text("sentence\tlabel\n")
    bad_row = tmp / "badrow"
    bad_row.mkdir()
    (bad_row / "train.tsv").write_text("sentence\tlabel\nfine movie .\t1\nno label here\n")
    (bad_row / "dev.tsv").write_text("sentence\tlabel\ngood .\t1\n")
    csv = tmp / "train.csv"
    csv.write_text("text,label\ngood film,positive\nbad film,negative\n")
    odd = tmp / "odd.csv"
    odd.write_text("text,label\ngood film,great\nbad film,terrible\n")
    other_heads = make_model(tmp / "heads2", heads=2, labels=("negative", "positive"))
    return [
        ([*base, "--task", "sst2", "--data-dir", str(tmp / "missing")], "missing"),
        ([*base, "--task", "sst2", "--data-dir", str(empty)], "train.tsv"),
        ([*base, "--task", "sst2", "--data-dir", str(bad_row)], "train.tsv:3"),
        ([*base, "--train", str(csv), "--text-column", "text"], "--dev FILE is required"),
        ([*base, "--task", "nope", "--data-dir", d], "unknown task"),
        ([*base, "--train", str(csv), "--dev", str(csv), "--text-column", "sentence"], "sentence"),
        ([*base, "--train", str(odd), "--dev", str(odd), "--text-column", "text"], "expected the same label names"),
        (["distill", "--teacher", str(trained["base"]), "--output", str(tmp / "o"), *glue], "no classification head"),
        (["distill", "--teacher", str(tmp / "nothere"), "--output", str(tmp / "o"), *glue], "nothere"),
        ([*base, *glue, "--heads", "2", "--layers", "2", "--hidden", "16", "--init", "random"], "attention heads"),
        (
            [
                "distill",
                "--teacher",
                str(other_heads),
                "--output",
                str(tmp / "o"),
                *glue,
                "--student",
                str(trained["teacher"]),
            ],
            "attention heads",
        ),
        ([*base, *glue, "--layers", "6"], "student layers <= teacher layers"),
        ([*base, *glue, "--layers", "2", "--layer-map", "1,9"], "between 1 and 4"),
        ([*base, *glue, "--loss-weights", "attn=2"], "--loss-weights"),
        ([*base, *glue, "--stage", "everything"], "--stage"),
        ([*base, *glue, "--hidden", "30"], "not divisible"),
        (["distill", "--teacher", t, "--output", t, *glue], "overlaps --teacher"),
        ([*base, *glue, "--init", "teacher", "--hidden", "16", "--intermediate", "16"], "no teacher tensor"),
        (["evaluate", "--model", t, *glue, "--split", "test"], "--split test"),
    ]


def test_bad_input_gives_one_line_errors(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for args, expected in _errors(trained, tmp_path):
        code, err = run_cli(args, monkeypatch, capsys)
        assert code == 2, (" ".join(map(str, args[7:])), err[-300:])
        assert expected in err, (args, err)
        assert "Traceback" not in err, (args, err)
        lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
        assert len(lines) == 1, (args, err)
    assert torch.get_num_threads() >= 1


def test_finetune_a_student_without_distillation(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "baseline"
    code, err = run_cli(
        ["finetune", "--model", trained["teacher"], "--task", "sst2", "--data-dir", trained["data"], "--output", out,
         "--layers", "2", "--init", "teacher", "--epochs", "1", "--max-train-samples", "32"],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["layers"] == 2 and metrics["student"]["layer_map"] == [2, 4]
    assert metrics["student"]["init"] == "teacher" and metrics["student"]["random_tensors"] == 0
    assert AutoModelForSequenceClassification.from_pretrained(out).config.num_hidden_layers == 2


def test_the_python_api_is_the_command_table() -> None:
    """Every command is a function of the same name (underscores for dashes) taking its positional
    options in the documented order; making one imports no torch (``import tinybert`` stays fast)."""
    import subprocess
    import sys

    import tinybert
    from tinybert.commands import COMMANDS, api_name

    for name, command in COMMANDS.items():
        function = getattr(tinybert, api_name(name))
        assert function is getattr(tinybert, api_name(name)) and function.__name__ == api_name(name)
        params = list(inspect.signature(function).parameters.values())
        assert [p.name for p in params[: len(command.positional)]] == list(command.positional)
        assert function.__doc__
    with pytest.raises(AttributeError, match="no attribute 'distil'"):
        tinybert.distil  # noqa: B018
    with pytest.raises(TypeError, match="multiple values for teacher"):
        tinybert.distill("t", "o", teacher="t2")
    code = "import sys, tinybert; tinybert.distill; tinybert.run; print(sorted(m for m in sys.modules if m == 'torch'))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_finetune_learning_rate_search_keeps_the_best(
    trained: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "search"
    code, err = run_cli(
        ["finetune", "--model", trained["base"], "--task", "sst2", "--data-dir", trained["data"], "--output", out,
         "--epochs", "2", "--batch-size", "16", "--learning-rate", "1e-6,2e-3"],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["learning_rate"] for r in metrics["runs"]] == [1e-6, 2e-3]
    best = max(metrics["runs"], key=lambda r: r["best"]["accuracy"])
    assert metrics["best_learning_rate"] == best["learning_rate"]
    assert metrics["eval"]["dev"]["accuracy"] == pytest.approx(best["best"]["accuracy"])
    assert (out / "model.safetensors").is_file() and not list(out.glob("lr-*/checkpoint-best"))
