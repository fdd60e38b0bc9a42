"""Markdown rows for BENCHMARKS.md from a bench/conll_students.sh output folder.

python bench/conll_table.py bench/results/conll2003

Entity F1 (percent) on the evaluation split each run used; the teacher's F1 is the one the distill
runs measured on the same split, so every retention compares like with like. TextBrewer's published
CoNLL-2003 ratios (BERT-base teacher 91.1 F1; no augmentation) stand beside ours.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TEXTBREWER = {"3l384": "87.5 / 91.1 = 96.0%", "4l312": "77.5 / 91.1 = 85.1%", "4l312prune": "77.5 / 91.1 = 85.1%"}
STUDENTS = (
    ("3l384", "3L-384, teacher init"),
    ("4l312", "4L-312, random init"),
    ("4l312prune", "4L-312, pruned from the teacher (`--init prune`)"),
)


def _load(path: Path) -> dict | None:
    file = path / "metrics.json"
    return json.loads(file.read_text()) if file.is_file() else None


def _minutes(summary: dict) -> str:
    stages = summary.get("stages") or {}
    seconds = sum(s.get("seconds", 0) for s in stages.values()) if stages else summary["runs"][0]["seconds"]
    return f"{seconds / 60:.0f} min"


def main(folder: Path) -> None:
    print(
        "| student | params | labels only | distilled (first pieces) | distilled (all pieces) | "
        "prediction stage only | teacher | labels / teacher | distilled / teacher | TextBrewer distilled / teacher |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, desc in STUDENTS:
        base, dist = _load(folder / f"{name}-labels"), _load(folder / f"{name}-distill")
        every = _load(folder / f"{name}-distill-all-pieces")
        alone = _load(folder / f"{name}-distill-prediction")
        if base is None and dist is None:
            continue
        split = next(iter((dist or base)["eval"] if dist is None else dist["student"]["eval"]))
        teacher = dist["teacher"]["eval"][split]["f1"] if dist else None
        b = base["eval"][split]["f1"] if base else None
        d = dist["student"]["eval"][split]["f1"] if dist else None
        a = every["student"]["eval"][split]["f1"] if every else None
        o = alone["student"]["eval"][split]["f1"] if alone else None
        params = (dist or {}).get("student", {}).get("parameters") or base["parameters"]

        def pct(x: float | None) -> str:
            return "—" if x is None else f"{100 * x:.1f}"

        def ratio(x: float | None, teacher: float | None = teacher) -> str:
            return "—" if x is None or not teacher else f"{100 * x / teacher:.1f}%"

        print(
            f"| {desc} | {params / 1e6:.1f}M | {pct(b)} | {pct(d)} | {pct(a)} | {pct(o)} | {pct(teacher)} | "
            f"{ratio(b)} | "
            f"{ratio(d)} | {TEXTBREWER[name]} |"
        )
    for name in sorted(p.name for p in folder.iterdir() if (p / "metrics.json").is_file()):
        s = _load(folder / name)
        assert s is not None
        ev = s["student"]["eval"] if "student" in s and s.get("command") == "distill" else s["eval"]
        for split, m in ev.items():
            per_type = ", ".join(
                f"{t} {100 * m[t + '_f1']:.1f}" for t in ("PER", "LOC", "ORG", "MISC") if t + "_f1" in m
            )
            print(
                f"- {name} ({split}): P {100 * m['precision']:.1f} R {100 * m['recall']:.1f} F1 {100 * m['f1']:.1f}"
                f" token acc {100 * m['accuracy']:.2f}; {per_type}; {_minutes(s)}"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
