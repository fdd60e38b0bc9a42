"""The demo figures README.md and BENCHMARKS.md quote are those of the recorded run.

``bench/reference/demo/demo.json`` is a real ``tinybert demo`` run, written by
``bench/record_demo.py``. When a change moves the demo's results, rerun the demo, record it, and
update both documents; this test fails until they agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = json.loads((ROOT / "bench" / "reference" / "demo" / "demo.json").read_text())
ROWS = {  # BENCHMARKS.md's Demo table row -> the report's model name
    "teacher (MiniLM-L6, fine-tuned)": "teacher",
    "student, distilled (3 layers, teacher init)": "student (distilled)",
    "student, distilled, ONNX int8": "student, onnx int8",
    "student without distillation": "student without distillation",
}


def percent(model: str) -> str:
    """Test accuracy as the documents write it: 0.8450 -> '84.5'."""
    return f"{100 * float(RECORD['rows'][model]['test accuracy']):.1f}"


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {round(seconds % 60)} s"


def test_readme_quotes_the_recorded_demo() -> None:
    text = (ROOT / "README.md").read_text()
    quoted = re.search(r"(\d+ min \d+ s), and the student scores ([\d.]+)\s+where the teacher scores ([\d.]+)", text)
    assert quoted, "README.md: the quickstart's sentence on the demo's time and scores is gone"
    assert quoted.groups() == (
        minutes(RECORD["wall_seconds"]),
        percent("student (distilled)"),
        percent("teacher"),
    ), "README.md quotes other demo figures than bench/reference/demo/demo.json"


def test_benchmarks_demo_table_is_the_recorded_run() -> None:
    text = (ROOT / "BENCHMARKS.md").read_text()
    section = text[text.index("\n## Demo\n") :]
    section = section[: section.index("\n### ")]
    assert RECORD["commit"] in section and minutes(RECORD["wall_seconds"]) in section
    table = {}
    for line in section.splitlines():
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] in ROWS:
            table[ROWS[cells[0]]] = cells
    assert set(table) == set(RECORD["rows"]), "BENCHMARKS.md: the Demo table lacks a model of the recorded run"
    for model, cells in table.items():
        row = RECORD["rows"][model]
        assert cells[1] == percent(model), model
        assert cells[2] == ("—" if row["retention"] == "—" else row["retention"]), model
        assert cells[3:5] == [row["parameters"], row["disk size"]], model


def test_every_relative_link_in_the_documents_reaches_a_file() -> None:
    from tinybert.cli.docs import pages

    link = re.compile(r"\]\(([^)\s]+)\)")
    broken = []
    for page in [*pages(ROOT), ROOT / "ARCHITECTURE.md", ROOT / "BENCHMARKS.md"]:
        for target in link.findall(page.read_text()):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
