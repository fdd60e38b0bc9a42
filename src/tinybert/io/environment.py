"""The environment record kept beside every result."""

from __future__ import annotations

import logging
import platform
import time

import torch

log = logging.getLogger(__name__)


def environment() -> dict[str, str]:
    """Versions and hardware recorded beside every trained model (metrics.json)."""
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "threads": str(torch.get_num_threads()),
        "date": time.strftime("%Y-%m-%d"),
    }
