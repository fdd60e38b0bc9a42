"""The compatibility matrix: every listed architecture through every step a user runs.

For each architecture a tiny random teacher (hidden 32, 4 layers) with an offline tokenizer is
fine-tuned, distilled into a 2-layer student of its own architecture (random and teacher init),
evaluated, exported to ONNX int8 with the parity check, and predicted with, and the student loads
in ``transformers.pipeline``. The README's matrix states what this test covers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import pipeline

import tinybert
from architectures import ARCHITECTURES, make_arch_model
from builders import write_sst2
from tinybert.errors import TinyBertError


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sst2(tmp_path_factory.mktemp("matrix") / "SST-2", n_train=32, n_dev=16)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_every_step_runs_for_the_architecture(arch: str, data: Path, tmp_path: Path) -> None:
    common = {"task": "sst2", "data_dir": data, "batch_size": 16, "max_seq_length": 24}
    base = make_arch_model(tmp_path / "base", arch)
    teacher = tinybert.finetune(str(base), tmp_path / "teacher", epochs=1, **common)
    assert set(teacher.eval["dev"]) >= {"accuracy"}

    epochs = {"layers": 2, "intermediate_epochs": 1, "prediction_epochs": 1, **common}
    random_init = tinybert.distill(str(tmp_path / "teacher"), tmp_path / "random", init="random", **epochs)
    assert random_init.student.layers == 2 and random_init.student.init == "random"
    student = tmp_path / "student"
    summary = tinybert.distill(str(tmp_path / "teacher"), student, init="teacher", **epochs)
    assert summary.student.layer_map == [2, 4]
    # the whole objective for every architecture, MPNet's and DeBERTa's own attention code included
    written = json.loads((student / "metrics.json").read_text())
    assert written["loss_weights"]["attention"] == 1.0
    assert written["stages"]["intermediate"]["best"]["dev_attention"] > 0
    config = json.loads((student / "config.json").read_text())
    assert config["model_type"] == json.loads((base / "config.json").read_text())["model_type"]

    metrics = tinybert.evaluate(str(student), task="sst2", data_dir=data)
    assert metrics["dev"]["accuracy"] == pytest.approx(summary.student.eval["dev"]["accuracy"])

    export = tinybert.export(str(student), tmp_path / "onnx", quantize="int8")
    assert export.parity.passed
    predicted = tinybert.predict(
        str(student), data / "dev.tsv", output=tmp_path / "pred.tsv", text_columns=["sentence"]
    )
    assert predicted.rows == 16
    header, *lines = [line.split("\t") for line in (tmp_path / "pred.tsv").read_text().splitlines()]
    rows = [dict(zip(header, line, strict=True)) for line in lines]
    expected = pipeline("text-classification", model=str(student))([r["sentence"] for r in rows])
    assert [r["predicted_label"] for r in rows] == [e["label"] for e in expected]
    int8 = tinybert.predict(
        str(tmp_path / "onnx"), data / "dev.tsv", output=tmp_path / "int8.tsv", text_columns=["sentence"]
    )
    assert int8.rows == 16


def test_student_arch_bert_distils_a_roberta_teacher(data: Path, tmp_path: Path) -> None:
    """--student-arch bert: a BERT student with the RoBERTa teacher's tokenizer, labels and usable positions."""
    common = {"task": "sst2", "data_dir": data, "batch_size": 16, "max_seq_length": 24}
    teacher = make_arch_model(tmp_path / "teacher", "roberta")
    summary = tinybert.distill(
        str(teacher), tmp_path / "student", layers=2, student_arch="bert", intermediate_epochs=1, prediction_epochs=1,
        **common,
    )  # fmt: skip
    assert summary.student.details["architecture"] == "bert"
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["model_type"] == "bert" and config["num_hidden_layers"] == 2
    assert config["max_position_embeddings"] == 63  # position ids start after the padding index 0
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    assert tinybert.export(str(tmp_path / "student"), tmp_path / "onnx").parity.passed
    assert pipeline("text-classification", model=str(tmp_path / "student"))("a good film")[0]["label"] in {
        "negative",
        "positive",
    }
    with pytest.raises(TinyBertError, match=r"student_arch: copies no teacher layers .*drop init teacher"):
        tinybert.distill(str(teacher), tmp_path / "no", layers=2, student_arch="bert", init="teacher", **common)
