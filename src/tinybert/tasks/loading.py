"""Task data for training and evaluation: the configured splits, read and tokenised by the data's
task type (:mod:`tinybert.tasks.base`) with one model's labels."""

from __future__ import annotations

import logging
from dataclasses import replace

from torch.utils.data import DataLoader
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tinybert.config import DataConfig
from tinybert.data.features import make_loader
from tinybert.data.readers import TaskData
from tinybert.tasks.base import check_task_name, get_task_type, task_type_for_data

log = logging.getLogger(__name__)


def load_data(data: DataConfig, need_train: bool, task_type: str | None = None) -> TaskData:
    """Read the task's examples (train only when ``need_train``; training also needs a dev split,
    on which the best checkpoint is chosen).

    ``task_type``: the name of a registered task type that reads ``data``; None: the one
    registered for ``data.task``, else ``sequence`` (GLUE tasks and generic files).
    """
    check_task_name(data.task)
    kind = task_type_for_data(data, task_type or data.task_type)
    return replace(kind.read(data, need_train), task_type=kind.name)


def model_labels(model: PreTrainedModel, task: TaskData) -> tuple[str, ...] | None:
    """The model's labels in id order (None for regression)."""
    if task.spec.is_regression or not getattr(get_task_type(task.task_type), "has_labels", True):
        return None
    return tuple(str(model.config.id2label[i]) for i in range(model.config.num_labels))


class Features:
    """Tokenised splits and their loaders, labels encoded with one model's ``label2id``."""

    def __init__(
        self,
        task: TaskData,
        tokenizer: PreTrainedTokenizerBase,
        labels: tuple[str, ...] | None,
        max_seq_length: int | None,
    ) -> None:
        self.task = task
        self.task_type = get_task_type(task.task_type)
        self.tokenizer = tokenizer
        self.collator = self.task_type.collator(tokenizer)
        self.max_seq_length = max_seq_length or task.spec.max_seq_length
        label2id = None if labels is None else {name: i for i, name in enumerate(labels)}
        regression = task.spec.is_regression

        def enc(examples: list) -> list[dict]:
            return self.task_type.featurize(examples, tokenizer, self.max_seq_length, label2id, regression)

        self.train = enc(task.train) if task.train else []
        self.evals = {name: enc(examples) for name, examples in task.evals.items()}
        self.positive_label = (
            None
            if labels is None or len(labels) != 2
            else (labels.index(task.spec.label_names[-1]) if task.spec.label_names else 1)
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """Examples and features (model inputs) per split: more features than examples means long
        examples were cut into windows (NER sentences, QA contexts), each window one feature."""
        splits = {"train": (self.task.train, self.train)} if self.task.train else {}
        splits.update({name: (self.task.evals[name], f) for name, f in self.evals.items()})
        return {name: {"examples": len(examples), "features": len(f)} for name, (examples, f) in splits.items()}

    def loader(self, features: list[dict], batch_size: int, shuffle: bool, seed: int = 0) -> DataLoader:
        """Batches of ``features`` with the task type's collator (training: length-grouped)."""
        return make_loader(features, self.tokenizer, batch_size, shuffle=shuffle, seed=seed, collator=self.collator)

    def train_loader(self, batch_size: int, seed: int) -> DataLoader:
        return self.loader(self.train, batch_size, shuffle=True, seed=seed)

    def eval_loaders(self, batch_size: int) -> dict[str, DataLoader]:
        return {name: self.loader(f, batch_size, shuffle=False) for name, f in self.evals.items()}
