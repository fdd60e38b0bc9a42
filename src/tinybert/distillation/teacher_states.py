"""The teacher's intermediate outputs, computed once and read from disk in every intermediate step.

The teacher is frozen and in eval mode, so what it gives an example (hidden states, attention
scores) is the same in every epoch. With a base-size teacher its forward pass is most of an
intermediate step (BENCHMARKS.md, "The teacher's cost"); here it runs once over the training and
dev examples, and each step reads the mapped layers' outputs back instead.

On disk, under one folder (float32, no pickle; numpy memory maps, so nothing is held in memory):

- ``hidden.f32``: (T, K, D), the K stored layers' hidden states of every real token, example
  after example (T = all examples' lengths summed);
- ``scores.f32``: flat; example i holds (A, H, L_i, L_i), the A stored layers' scores over its
  real tokens only;
- ``index.json``: the layout, each example's length and a fingerprint of the inputs and the
  teacher; written last, so a folder without it is unfinished and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from tqdm.auto import tqdm
from transformers import PreTrainedModel

from tinybert.data.features import model_inputs
from tinybert.io.outputs import write_json

log = logging.getLogger(__name__)

INDEX_KEY = "example_index"
"""Batch key: each example's row in the stored outputs (B,). A batch without it runs the teacher."""

FORMAT = 1


@dataclass(frozen=True)
class StatesLayout:
    """What is stored per token: the hidden states of ``hidden_layers`` (indices into the
    teacher's ``hidden_states``, 0 = embeddings) and the scores of ``attention_layers`` (indices
    into its ``attentions``)."""

    hidden_layers: tuple[int, ...]
    attention_layers: tuple[int, ...]
    width: int
    heads: int

    def offsets(self, lengths: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Where each example starts, (N+1,) each: its first token row in ``hidden.f32`` and its
        first value in ``scores.f32`` (the last entry is each file's length)."""
        n = np.asarray(lengths, dtype=np.int64)
        per_example = len(self.attention_layers) * self.heads * n**2
        return np.concatenate([[0], np.cumsum(n)]), np.concatenate([[0], np.cumsum(per_example)])

    def open(self, folder: Path, lengths: np.ndarray | list[int], mode: str) -> tuple[np.ndarray, np.ndarray]:
        """The two files of ``folder`` as memory maps: hidden (T, K, D) and scores (flat)."""
        token_start, score_start = self.offsets(lengths)
        return (
            _open(folder / "hidden.f32", (int(token_start[-1]), len(self.hidden_layers), self.width), mode),
            _open(folder / "scores.f32", (int(score_start[-1]),), mode),
        )

    def nbytes(self, lengths: list[int]) -> int:
        """Bytes on disk for examples of these lengths (float32)."""
        tokens = sum(lengths)
        pairs = sum(n * n for n in lengths)
        return 4 * (tokens * len(self.hidden_layers) * self.width + pairs * len(self.attention_layers) * self.heads)


def fingerprint(features: list[dict], teacher: PreTrainedModel) -> str:
    """Hash of every example's model inputs and of the teacher's config and weights' shapes and sums:
    stored outputs are reused (a resumed run) only for the same inputs and the same teacher."""
    digest = hashlib.sha256()
    for f in features:
        for key in sorted(model_inputs(f)):
            digest.update(key.encode())
            digest.update(np.asarray(f[key], dtype=np.int64).tobytes())
    digest.update(teacher.config.to_json_string(use_diff=False).encode())
    with torch.no_grad():
        for name, p in teacher.state_dict().items():
            digest.update(f"{name}{tuple(p.shape)}{float(p.double().sum()):.17g}".encode())
    return digest.hexdigest()


class TeacherStates:
    """Stored teacher outputs (see the module docstring), read back per batch."""

    def __init__(self, folder: Path) -> None:
        index = json.loads((folder / "index.json").read_text())
        self.layout = StatesLayout(**{k: tuple(v) if isinstance(v, list) else v for k, v in index["layout"].items()})
        self.lengths = np.asarray(index["lengths"], dtype=np.int64)
        self.fingerprint: str = index["fingerprint"]
        self.nbytes: int = index["nbytes"]
        self.token_start, self.score_start = self.layout.offsets(self.lengths)  # (N+1,) each
        self.hidden, self.scores = self.layout.open(folder, self.lengths, "r")

    def batch(
        self, rows: torch.Tensor, width: int, packed: bool, device: torch.device
    ) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor]]:
        """The stored outputs of examples ``rows`` (B,), laid out as the teacher's forward gives them.

        Returns (hidden, scores): ``hidden[t]`` for each stored layer t is (B, width, D), zero past
        each example's length, or (1, N, D) when ``packed`` (the N real tokens, example after
        example, as :func:`~tinybert.models.packing.pack_inputs` orders them); ``scores[t]`` is
        (B, H, width, width), zero outside each example's real (query, key) pairs. The losses
        never read the padded positions (they are masked), so zeros stand for whatever the
        teacher computes there.
        """
        layout = self.layout
        a, h, d = len(layout.attention_layers), layout.heads, layout.width
        ids = rows.tolist()
        lengths = [int(self.lengths[i]) for i in ids]
        if max(lengths) > width:
            raise ValueError(f"stored example of {max(lengths)} tokens in a batch {width} wide: not these inputs")
        per_example = [
            torch.from_numpy(np.array(self.hidden[self.token_start[i] : self.token_start[i + 1]])) for i in ids
        ]  # each (L_i, K, D)
        if packed:
            hidden = torch.cat(per_example)[None]  # (1, N, K, D)
        else:
            hidden = torch.zeros(len(ids), width, len(layout.hidden_layers), d)  # (B, L, K, D)
            for b, x in enumerate(per_example):
                hidden[b, : len(x)] = x
        scores = torch.zeros(a, len(ids), h, width, width)  # (A, B, H, L, L)
        for b, (i, n) in enumerate(zip(ids, lengths, strict=True)):
            flat = np.array(self.scores[self.score_start[i] : self.score_start[i + 1]])
            scores[:, b, :, :n, :n] = torch.from_numpy(flat).view(a, h, n, n)
        hidden, scores = hidden.to(device), scores.to(device)
        return (
            {t: hidden[:, :, k] for k, t in enumerate(layout.hidden_layers)},
            {t: scores[k] for k, t in enumerate(layout.attention_layers)},
        )


def teacher_states(
    teacher: PreTrainedModel,
    features: list[dict],
    layout: StatesLayout,
    folder: Path,
    accelerator: Accelerator,
    collate,
    batch_size: int = 64,
) -> TeacherStates:
    """Run ``teacher`` once over ``features`` and store ``layout``'s outputs in ``folder``; reuse
    what is there when it was stored for the same inputs and teacher (a resumed run).

    Examples go shortest first in padded batches of ``batch_size``; each process computes every
    P-th batch and writes its rows of the shared files (the folder must be on a file system every
    process sees, as the run folder is). ``collate`` batches features as the training loop does.
    """
    lengths = [len(f["input_ids"]) for f in features]
    key = fingerprint(features, teacher)
    index = folder / "index.json"
    if index.is_file():
        stored = TeacherStates(folder)
        if stored.fingerprint == key and stored.layout == layout:
            log.info("teacher outputs: reusing %s (%.2f GB)", folder, stored.nbytes / 1e9)
            return stored
    a, h = len(layout.attention_layers), layout.heads
    token_start, score_start = layout.offsets(lengths)
    if accelerator.is_main_process:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        # Sized up front, so that every process writes its rows into the same files.
        for created in layout.open(folder, lengths, "w+"):
            _flush(created)
    accelerator.wait_for_everyone()
    hidden_file, scores_file = layout.open(folder, lengths, "r+")
    order = sorted(range(len(features)), key=lambda i: lengths[i])
    batches = [order[s : s + batch_size] for s in range(0, len(order), batch_size)]
    mine = batches[accelerator.process_index :: accelerator.num_processes]
    teacher.eval()
    for rows in tqdm(mine, desc="teacher outputs", disable=not accelerator.is_local_main_process, dynamic_ncols=True):
        batch = {k: v.to(accelerator.device) for k, v in collate([features[i] for i in rows]).items()}
        with torch.inference_mode(), accelerator.autocast():
            out = teacher(**model_inputs(batch), output_hidden_states=True, output_attentions=True)
        for j, i in enumerate(rows):
            m = lengths[i]
            example_hidden = hidden_file[token_start[i] : token_start[i + 1]]  # (m, K, D), a view
            for k, t in enumerate(layout.hidden_layers):
                example_hidden[:, k] = out.hidden_states[t][j, :m].float().cpu().numpy()
            example_scores = scores_file[score_start[i] : score_start[i + 1]].reshape(a, h, m, m)  # a view
            for k, t in enumerate(layout.attention_layers):
                example_scores[k] = out.attentions[t][j, :, :m, :m].float().cpu().numpy()
    _flush(hidden_file)
    _flush(scores_file)
    del hidden_file, scores_file
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        write_json(
            index,
            {
                "format": FORMAT,
                "layout": _plain(layout),
                "lengths": lengths,
                "fingerprint": key,
                "nbytes": layout.nbytes(lengths),
            },
        )
    accelerator.wait_for_everyone()
    return TeacherStates(folder)


def _open(path: Path, shape: tuple[int, ...], mode: str) -> np.ndarray:
    """A float32 memory map of ``shape`` (an empty part, e.g. no scores stored, is no file at all:
    a memory map cannot be empty)."""
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, np.float32)
    return np.memmap(path, np.float32, mode, shape=shape)


def _flush(array: np.ndarray) -> None:
    if isinstance(array, np.memmap):
        array.flush()


def _plain(layout: StatesLayout) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(layout).items()}
