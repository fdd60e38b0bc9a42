"""The one environment record kept beside every result (metrics.json, benchmark.json, export.json,
the report): machine, threads, device and package versions."""

from __future__ import annotations

import os
import platform
import re
import time
from importlib import metadata
from pathlib import Path

PACKAGES = ("tinybert", "torch", "transformers", "accelerate", "onnxruntime", "onnx", "numpy")


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    except OSError:
        match = None
    return match.group(1).strip() if match else (platform.processor() or platform.machine())


def environment(device: str = "cpu") -> dict[str, str | int | None]:
    """Hardware and software a result was produced on; ``device``: where it ran (cpu or cuda)."""
    import torch

    env: dict[str, str | int | None] = {
        "cpu": cpu_name(),
        "logical_cores": os.cpu_count(),
        "threads": str(torch.get_num_threads()),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "device": device,
        "date": time.strftime("%Y-%m-%d"),
    }
    for package in PACKAGES:
        try:
            env[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    env["torch"] = torch.__version__  # the local build's own version string (e.g. 2.13.0+cpu)
    if device == "cuda" and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env
