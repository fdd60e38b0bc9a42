"""The SQuAD rows of BENCHMARKS.md from the folders bench/squad_students.sh writes.

    python bench/squad_table.py /work/bench-qa

EM/F1 in percent (the toolkit stores fractions), retention = student F1 / teacher F1, beside
TinyBERT4's published 72.7 EM / 82.1 F1 against BERT-base's 88.4 F1 (92.9%) on the full SQuAD v1.1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _eval(folder: Path, role: str = "student") -> dict | None:
    path = folder / "metrics.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    if summary["command"] == "distill":
        return summary[role]["eval"]["dev"] | {"parameters": summary[role]["parameters"]}
    return summary["eval"]["dev"] | {"parameters": summary["parameters"]}


def main(root: str) -> None:
    out = Path(root)
    teacher = _eval(out / "teacher")
    if teacher is None:
        print("no teacher yet")
        return
    print("| model | params | EM | F1 | F1 / teacher F1 |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| teacher MiniLM-L6 | {teacher['parameters'] / 1e6:.1f}M | {100 * teacher['exact_match']:.1f} | "
        f"{100 * teacher['f1']:.1f} | 100% |"
    )
    for name, label in (
        ("3l384-labels", "3L-384 teacher init, labels only"),
        ("3l384-distill", "3L-384 teacher init, distilled"),
        ("4l312-labels", "4L-312 random init, labels only"),
        ("4l312-distill", "4L-312 random init, distilled"),
        ("4l312prune-labels", "4L-312 pruned from the teacher, labels only"),
        ("4l312prune-distill", "4L-312 pruned from the teacher, distilled"),
    ):
        m = _eval(out / name)
        if m is None:
            print(f"| {label} | | not run | | |")
            continue
        print(
            f"| {label} | {m['parameters'] / 1e6:.1f}M | {100 * m['exact_match']:.1f} | {100 * m['f1']:.1f} | "
            f"{100 * m['f1'] / teacher['f1']:.1f}% |"
        )
    int8 = out / "eval-int8.json"
    if int8.is_file():
        m = json.loads(int8.read_text())["eval"]["dev"]
        print(
            f"| 3L-384 distilled, ONNX int8 | | {100 * m['exact_match']:.1f} | {100 * m['f1']:.1f} | "
            f"{100 * m['f1'] / teacher['f1']:.1f}% |"
        )
    print("| TinyBERT4 (paper, full SQuAD v1.1, BERT-base teacher 80.7 / 88.4) | 14.5M | 72.7 | 82.1 | 92.9% |")


if __name__ == "__main__":
    main(sys.argv[1])
