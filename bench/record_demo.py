"""Record a finished ``tinybert demo`` run as the reference the README and BENCHMARKS.md must quote.

    /usr/bin/time -v tinybert demo --output runs/demo 2> runs/demo-time.log
    python bench/record_demo.py runs/demo runs/demo-time.log [--out bench/reference/demo/demo.json]

Writes the summary table of ``report.json`` (test accuracy, retention, size, speed per model), the
wall time and peak memory read from ``/usr/bin/time -v``, the commit and the environment of the
student's ``metrics.json``. ``tests/test_documented_results.py`` fails when README.md or the Demo
section of BENCHMARKS.md quotes other figures: after a rerun, record it and update both.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path


def wall_seconds(time_log: str) -> tuple[float, int]:
    """Elapsed seconds and peak resident memory (KiB) from ``/usr/bin/time -v`` output."""
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", time_log)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_log)
    if clock is None or peak is None:
        raise SystemExit("the time log has no /usr/bin/time -v summary")
    seconds = 0.0
    for part in clock[1].split(":"):
        seconds = seconds * 60 + float(part)
    return seconds, int(peak[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("time_log", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "reference" / "demo" / "demo.json")
    args = parser.parse_args()
    report = json.loads((args.run / "report.json").read_text())
    metrics = json.loads((args.run / "student" / "metrics.json").read_text())
    seconds, peak = wall_seconds(args.time_log.read_text())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    record = {
        "command": "/usr/bin/time -v tinybert demo --output " + str(args.run),
        "commit": commit,
        "wall_seconds": round(seconds, 1),
        "peak_memory_mib": round(peak / 1024),
        "header": report["header"],
        "rows": {row[0]: dict(zip(report["header"][1:], row[1:], strict=True)) for row in report["rows"]},
        "environment": metrics["environment"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(record['rows'])} models, {seconds:.0f} s, commit {commit}")


if __name__ == "__main__":
    main()
