"""Training checkpoints: safetensors + JSON only, written atomically; loading one never runs code.

A checkpoint ``checkpoints/step-00000120/`` holds everything an exact resume needs:

* ``model.safetensors``: the trained module's tensors (student and projections; the frozen
  teacher is reloaded from its own folder, not copied);
* ``state.safetensors`` + ``state.json``: the optimizer, the scheduler, the RNG states, the
  position in the data and the loop's own counters (best score so far, ...). Tensors go to the
  safetensors file; everything else is JSON, with each tensor replaced by ``{"__tensor__": key}``.

No pickle is written or read (``torch.load`` is never called on a run folder): a file planted in
a checkpoint folder is data, never code. A checkpoint folder is complete once ``state.json``
exists; it is written into ``step-N.tmp``, each file fsynced, then renamed.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tinybert.errors import TinyBertError
from tinybert.io.outputs import atomic_folder

CHECKPOINT = re.compile(r"^step-(\d+)$")
STATE_FILE = "state.json"


def checkpoints(folder: Path) -> list[Path]:
    """The complete checkpoints in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if CHECKPOINT.match(p.name) and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(CHECKPOINT.match(p.name).group(1)))  # type: ignore[union-attr]


def latest(folder: Path) -> Path | None:
    return (checkpoints(folder) or [None])[-1]


# ---------------------------------------------------------------------------------------------
# JSON with tensors beside it


def _split(value: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """``value`` as JSON, its tensors moved into ``tensors`` under dotted keys."""
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().cpu().clone().contiguous()
        return {"__tensor__": key}
    if isinstance(value, dict):
        if value and all(isinstance(k, int) for k in value):  # the optimizer's per-parameter state
            return {"__int_keys__": {str(k): _split(v, f"{key}.{k}", tensors) for k, v in value.items()}}
        return {str(k): _split(v, f"{key}.{k}", tensors) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_split(v, f"{key}.{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


def _join(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__array__" in value:
            return np.asarray(value["__array__"], dtype=value["dtype"])
        if "__int_keys__" in value:
            return {int(k): _join(v, tensors) for k, v in value["__int_keys__"].items()}
        return {k: _join(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, tensors) for v in value]
    return value


def rng_state() -> dict[str, Any]:
    """Every random state training touches (python, numpy, torch CPU and CUDA)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---------------------------------------------------------------------------------------------
# Save and load


def save(
    folder: Path,
    step: int,
    *,
    model: dict[str, torch.Tensor],
    state: dict[str, Any],
    keep: int,
) -> Path:
    """Write checkpoint ``step`` into ``folder`` atomically and keep only the newest ``keep``.

    ``model``: the tensors to restore into the module; ``state``: JSON-able values and tensors
    (optimizer and scheduler state dicts, RNG states, counters).
    """
    final = folder / f"step-{step:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_folder(final, fsync=True) as tmp:
        tensors = {k: v.detach().cpu().clone().contiguous() for k, v in model.items()}
        save_file(tensors, str(tmp / "model.safetensors"))
        state_tensors: dict[str, torch.Tensor] = {}
        document = _split(state, "state", state_tensors)
        save_file(state_tensors, str(tmp / "state.safetensors"))
        (tmp / STATE_FILE).write_text(json.dumps(document))
    for old in checkpoints(folder)[:-keep]:
        shutil.rmtree(old)
    return final


def load(checkpoint: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The model tensors and the state of ``checkpoint`` (safetensors and JSON only)."""
    try:
        model = load_file(str(checkpoint / "model.safetensors"))
        tensors = load_file(str(checkpoint / "state.safetensors"))
        document = json.loads((checkpoint / STATE_FILE).read_text())
    except (OSError, SafetensorError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TinyBertError(
            f"--resume: checkpoint {checkpoint} is unreadable ({first}); delete it to resume from an older one"
        ) from None
    return model, _join(document, tensors)


def restore_module(
    module: torch.nn.Module, tensors: dict[str, torch.Tensor], skip: Callable[[str], bool], where: Path
) -> None:
    """Load ``tensors`` into ``module`` (its keys for which ``skip`` is true, the teacher, stay as they are)."""
    expected = {k for k in module.state_dict() if not skip(k)}
    if set(tensors) != expected:
        differ = sorted(expected - set(tensors))[:3] or sorted(set(tensors) - expected)[:3]
        raise TinyBertError(f"--resume: checkpoint {where} does not match this model (e.g. {', '.join(differ)})")
    module.load_state_dict(tensors, strict=False)
