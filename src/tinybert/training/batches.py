"""Where the training loop's batches come from: resumable at any step, split across processes.

A batch source hands the loop, for each optimizer step, this process's micro-batches (one per
gradient-accumulation step), and saves and restores its position as plain values. Both sources
first form the *global* batch (``batch_size x gradient_accumulation_steps x processes`` examples)
and then take this process's share of it and split that into micro-batches, so the run sees the
same examples in the same steps whatever the accumulation or the number of processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

Batch = dict[str, torch.Tensor]


class BatchSource(Protocol):
    steps_per_epoch: int | None
    """Optimizer steps per pass over the data; None for an endless stream."""

    def next_step(self) -> list[Batch]:
        """This process's micro-batches of the next optimizer step (at least one)."""
        ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def _share(items: Sequence[int], parts: int, index: int) -> list[int]:
    """Part ``index`` of ``items`` cut into ``parts`` near-equal consecutive parts."""
    bounds = np.linspace(0, len(items), parts + 1).round().astype(int)
    return list(items[bounds[index] : bounds[index + 1]])


class EpochBatches:
    """Shuffled, length-grouped batches over a list of features, epoch after epoch.

    Each epoch's order depends only on the seed and the epoch number (a generator seeded with
    ``seed + epoch``), so a resumed run regenerates the epoch it stopped in and skips the steps
    already taken, without reading them. Examples of similar length share a global batch
    (``transformers``' ``LengthGroupedSampler``, over the global batch size), so little compute
    goes to padding. The last global batch of an epoch may be smaller.
    """

    def __init__(
        self,
        features: list[dict],
        collate: Callable[[list[dict]], Batch],
        batch_size: int,
        *,
        accumulation: int = 1,
        num_processes: int = 1,
        process_index: int = 0,
        seed: int = 0,
        group_by_length: bool = True,
    ) -> None:
        self.features = features
        self.collate = collate
        self.batch_size = batch_size
        self.accumulation = accumulation
        self.num_processes = num_processes
        self.process_index = process_index
        self.seed = seed
        self.group_by_length = group_by_length
        self.global_batch = batch_size * accumulation * num_processes
        self.steps_per_epoch = max(1, math.ceil(len(features) / self.global_batch))
        self.epoch, self.offset = 0, 0  # the next step: step ``offset`` of epoch ``epoch``
        self._order: list[int] | None = None

    def _epoch_order(self) -> list[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        if not self.group_by_length:
            return torch.randperm(len(self.features), generator=generator).tolist()
        from transformers.trainer_pt_utils import LengthGroupedSampler

        lengths = [len(f["input_ids"]) for f in self.features]
        return list(LengthGroupedSampler(self.global_batch, lengths=lengths, generator=generator))

    def next_step(self) -> list[Batch]:
        if self._order is None:
            self._order = self._epoch_order()
        start = self.offset * self.global_batch
        step = self._order[start : start + self.global_batch]
        mine = _share(step, self.num_processes, self.process_index)
        micro = [_share(mine, self.accumulation, i) for i in range(self.accumulation)]
        self.offset += 1
        if self.offset == self.steps_per_epoch:
            self.epoch, self.offset, self._order = self.epoch + 1, 0, None
        return [self.collate([self.features[i] for i in indices]) for indices in micro if indices]

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "offset": self.offset, "examples": len(self.features)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.offset, self._order = int(state["epoch"]), int(state["offset"]), None


class StreamBatches:
    """Batches from an endless block stream (general distillation's corpus): each step takes
    the next global batch of blocks, this process's share of it, split into micro-batches."""

    steps_per_epoch = None

    def __init__(
        self, stream: Any, batch_size: int, *, accumulation: int = 1, num_processes: int = 1, process_index: int = 0
    ) -> None:
        self.stream = stream
        self.batch_size = batch_size
        self.accumulation = accumulation
        self.num_processes = num_processes
        self.process_index = process_index

    def next_step(self) -> list[Batch]:
        out = []
        for _ in range(self.accumulation):
            rows = self.stream.next_batch(self.batch_size * self.num_processes)  # {key: (B x P, L)}
            lo = self.process_index * self.batch_size
            out.append({k: v[lo : lo + self.batch_size] for k, v in rows.items()})
        return out

    def state_dict(self) -> dict[str, Any]:
        return self.stream.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stream.load_state_dict(state)
