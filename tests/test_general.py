"""General distillation: exact resume, the output as a task-distillation init, the CLI and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoModel, AutoModelForSequenceClassification

import tinybert
from builders import make_model, run_cli, sentiment_rows, write_sst2
from tinybert.errors import TinyBertError
from tinybert.results import GeneralResult, parse
from tinybert.training import checkpoint

TINY = {"layers": 2, "hidden": 16, "intermediate": 32}
RUN = {**TINY, "max_seq_length": 32, "batch_size": 4, "eval_blocks": 8, "shuffle_buffer": 16, "log_steps": 1}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 'pre-trained' tiny encoder without a task head, and a corpus of blank-line-separated documents."""
    root = tmp_path_factory.mktemp("general")
    teacher = make_model(root / "pretrained", labels=None, head=False)
    rows = [s for s, _ in sentiment_rows(600, seed=5)]
    corpus = root / "corpus"
    corpus.mkdir()
    for part in range(2):
        docs = ["\n".join(rows[i : i + 3]) for i in range(300 * part, 300 * (part + 1), 3)]
        (corpus / f"part{part}.txt").write_text("\n\n".join(docs) + "\n")
    return {"root": root, "teacher": teacher, "corpus": corpus}


def _log(output: Path) -> list[dict]:
    return [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]


LOSS_KEYS = ("loss", "embedding", "attention", "hidden", "eval_loss", "eval_embedding", "eval_attention", "eval_hidden")


def _losses(output: Path) -> tuple[list[tuple[int, str]], list[float]]:
    """(step, kind) of every logged record, and all their loss parts in order."""
    records = _log(output)
    return [(r["step"], r["kind"]) for r in records], [r[k] for r in records for k in LOSS_KEYS if k in r]


def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(
    setup: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = {**RUN, "max_steps": 8, "save_steps": 4, "eval_steps": 2, "keep_checkpoints": 2}
    straight = tmp_path / "straight"
    tinybert.general_distill(str(setup["teacher"]), setup["corpus"], straight, **args)

    # Kill the second run right after its step-4 checkpoint is written, then resume it.
    resumed = tmp_path / "resumed"
    save = checkpoint.save

    def save_then_die(*a: object, **k: object) -> Path:
        save(*a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        tinybert.general_distill(str(setup["teacher"]), setup["corpus"], resumed, **args)
    monkeypatch.undo()
    assert [p.name for p in (resumed / "checkpoints").iterdir()] == ["step-00000004"]
    assert not (resumed / "model.safetensors").exists()
    metrics = tinybert.general_distill(str(setup["teacher"]), setup["corpus"], resumed, resume=True, **args)

    # Every loss part at every step, training and held-out, is the same (bit for bit on CPU).
    expected_steps, expected_losses = _losses(straight)
    assert len(expected_steps) == 8 + 4 and len(expected_losses) == 12 * 4  # held-out at 2, 4, 6, 8
    steps, losses = _losses(resumed)
    assert steps == expected_steps
    assert losses == pytest.approx(expected_losses, rel=1e-6)
    a, b = load_file(straight / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-7)
    assert [(s["from_step"], s["to_step"]) for s in metrics.sessions] == [(0, 4), (4, 8)]
    assert metrics.tokens_seen == 8 * 4 * 32
    # Checkpoints hold the student and projections, never the frozen teacher.
    with safe_open(str(resumed / "checkpoints" / "step-00000008" / "model.safetensors"), framework="pt") as f:
        keys = list(f.keys())
    assert any(k.startswith("projections.") for k in keys) and not any(k.startswith("teacher.") for k in keys)
    assert sorted(p.name for p in (resumed / "checkpoints").iterdir()) == ["step-00000004", "step-00000008"]


def test_cli_run_gives_an_init_that_task_distillation_accepts(
    setup: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    gd = tmp_path / "general"
    files = sorted(str(p) for p in setup["corpus"].iterdir())
    code, err = run_cli(
        ["general-distill", "--teacher", setup["teacher"], "--corpus", files[0], "--output", gd,
         "--layers", "2", "--hidden", "16", "--intermediate", "32", "--max-seq-length", "32",
         "--max-steps", "6", "--batch-size", "4", "--gradient-accumulation-steps", "2", "--save-steps", "3",
         "--eval-steps", "3", "--eval-blocks", "8", "--learning-rate", "1e-3", files[1]],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 0, err
    metrics = json.loads((gd / "metrics.json").read_text())
    parse(GeneralResult, metrics, strict=True)  # every key general-distill writes is a field of its result
    assert metrics["corpus"]["files"] == 2 and metrics["corpus"]["formats"] == {"blank-lines": 2}
    assert metrics["steps"] == 6 and metrics["tokens_seen"] == 6 * 4 * 2 * 32
    assert metrics["tokens_per_second"] > 0 and metrics["student"]["layer_map"] == [2, 4]
    assert set(metrics["eval"]) == {"eval_loss", "eval_embedding", "eval_attention", "eval_hidden"}
    log = _log(gd)
    train_record = next(r for r in log if r["kind"] == "train")
    assert {"loss", "embedding", "attention", "hidden", "lr", "tokens_per_second"} <= set(train_record)
    assert [r["step"] for r in log if r["kind"] == "eval"] == [3, 6]
    assert list((gd / "logs").glob("events.out.tfevents.*"))
    # A plain HF encoder folder: weights, config, tokenizer; no projections, no teacher.
    weights = load_file(gd / "model.safetensors")
    assert not any("projection" in k or "teacher" in k for k in weights)
    encoder = AutoModel.from_pretrained(gd)
    assert encoder.config.num_hidden_layers == 2 and encoder.config.hidden_size == 16
    assert (gd / "tokenizer.json").is_file()
    # A classifier built from it starts from the distilled encoder (only the head is new).
    clf = AutoModelForSequenceClassification.from_pretrained(gd, num_labels=2)
    torch.testing.assert_close(clf.bert.embeddings.word_embeddings.weight, encoder.embeddings.word_embeddings.weight)
    torch.testing.assert_close(
        clf.bert.encoder.layer[1].output.dense.weight, encoder.encoder.layer[1].output.dense.weight
    )

    # Task distillation from a (tiny, task-headed) teacher with the general student as the init.
    task_teacher = make_model(tmp_path / "task-teacher")
    data = write_sst2(tmp_path / "SST-2", n_train=32, n_dev=16)
    out = tmp_path / "task-student"
    code, err = run_cli(
        ["distill", "--teacher", task_teacher, "--task", "sst2", "--data-dir", data, "--output", out,
         "--student", gd, "--epochs", "1", "--batch-size", "16"],
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 0, err
    task_metrics = json.loads((out / "metrics.json").read_text())
    assert task_metrics["student"]["init"] == f"folder {gd}" and task_metrics["student"]["hidden"] == 16

    # The same through a recipe's student.general, with the baseline from the same init.
    run = tmp_path / "run"
    recipe = tmp_path / "general.yaml"
    recipe.write_text(
        f"output: {run}\nteacher: {task_teacher}\ntask: sst2\ndata_dir: {data}\n"
        f"finetune: {{enabled: false}}\nstudent: {{student: {gd}}}\n"
        "distill: {intermediate_epochs: 1, prediction_epochs: 1, batch_size: 16}\n"
        "baseline: {enabled: true}\nexport: {enabled: false}\nbenchmark: {enabled: false}\n"
    )
    code, text = run_cli(["run", recipe], monkeypatch, capsys, stdout=True)
    assert code == 0, text
    distilled = json.loads((run / "student" / "metrics.json").read_text())
    assert distilled["student"]["init"] == f"folder {gd}" and distilled["student"]["layers"] == 2
    baseline = AutoModelForSequenceClassification.from_pretrained(run / "baseline")
    assert baseline.config.hidden_size == 16 and baseline.config.num_hidden_layers == 2
    assert (run / "report.md").is_file() and str(gd) in (run / "report.md").read_text()


def test_overwrite_starts_again_without_stale_checkpoints(setup: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = {**RUN, "max_steps": 4, "save_steps": 2, "eval_steps": 2, "keep_checkpoints": 3}
    tinybert.general_distill(str(setup["teacher"]), setup["corpus"], out, **args)
    assert len(list((out / "checkpoints").iterdir())) == 2
    tinybert.general_distill(str(setup["teacher"]), setup["corpus"], out, **{**args, "max_steps": 2}, overwrite=True)
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-00000002"]
    assert max(r["step"] for r in _log(out)) == 2


def _bad_inputs(setup: dict[str, Path], tmp: Path) -> list[tuple[list, str]]:
    t, c = str(setup["teacher"]), str(setup["corpus"])
    base = ["general-distill", "--teacher", t, "--layers", "2", "--hidden", "16", "--intermediate", "32",
            "--max-seq-length", "32", "--eval-blocks", "4", "--max-steps", "2", "--batch-size", "2"]  # fmt: skip
    blank = tmp / "blank.txt"
    blank.write_text("\n\n  \n")
    one_doc = tmp / "one.txt"
    one_doc.write_text(" ".join(["good"] * 40) + "\n")  # all of it goes to the held-out block
    (tmp / "busy").mkdir()
    (tmp / "busy" / "notes.txt").write_text("mine")
    # A run whose checkpoint was made with --batch-size 2, resumed with 3.
    done = tmp / "done"
    tinybert.general_distill(t, c, done, **TINY, max_seq_length=32, eval_blocks=4, max_steps=2, batch_size=2)
    return [
        ([*base, "--corpus", str(tmp / "nope.txt"), "--output", str(tmp / "o")], "--corpus"),
        ([*base, "--corpus", str(tmp / "*.none"), "--output", str(tmp / "o")], "matches no file"),
        ([*base, "--corpus", str(blank), "--output", str(tmp / "o")], "not enough for --eval-blocks"),
        ([*base, "--corpus", str(one_doc), "--eval-blocks", "1", "--output", str(tmp / "o")], "no training text"),
        ([*base, "--corpus", c, "--output", str(tmp / "busy")], "--resume"),
        ([*base, "--corpus", c, "--output", str(tmp / "fresh"), "--resume"], "no checkpoint"),
        ([*base, "--corpus", c, "--output", str(done), "--resume", "--batch-size", "3"], "batch-size was 2"),
        ([*base, "--corpus", c, "--output", str(done), "--resume", "--overwrite"], "give one"),
        ([*base, "--corpus", c, "--output", str(tmp / "o"), "--heads", "2", "--init", "random"], "attention heads"),
        ([*base, "--corpus", c, "--output", str(tmp / "o"), "--max-seq-length", "100"], "at most 64 positions"),
        ([*base, "--corpus", c, "--output", str(tmp / "o"), "--corpus-format", "xml"], "--corpus-format"),
        ([*base, "--corpus", c, "--output", str(tmp / "o"), "--max-steps", "0"], "--max-steps"),
        ([*base, "--corpus", c, "--output", str(setup["corpus"] / "out")], "overlaps --corpus"),
        ([*base, "--corpus", c, "--output", t], "overlaps --teacher"),
        (["general-distill", "--teacher", str(tmp / "missing"), "--corpus", c, "--output", str(tmp / "o")], "missing"),
    ]


def test_bad_input_gives_one_line_errors(
    setup: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for args, expected in _bad_inputs(setup, tmp_path):
        code, err = run_cli(args, monkeypatch, capsys)
        assert code == 2, (args, err[-400:])
        assert expected in err and "Traceback" not in err, (args, err)
        assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1, (args, err)
    assert not (tmp_path / "o").exists()  # a failed fresh run leaves no folder behind
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_config_rejects_bad_values() -> None:
    with pytest.raises(TinyBertError, match="all 0"):
        tinybert.general_distill("t", "c", "o", loss_weights="embedding=0,attention=0,hidden=0")
