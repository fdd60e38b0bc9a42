"""Task data for training and evaluation: the configured splits, tokenised with one model's labels."""

from __future__ import annotations

import logging

from torch.utils.data import DataLoader
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from tinybert.config import (
    DataConfig,
)
from tinybert.data import TaskData, encode, load_custom, load_glue, make_loader
from tinybert.errors import TinyBertError

log = logging.getLogger(__name__)


def load_data(data: DataConfig, need_train: bool) -> TaskData:
    """Read the task's examples (train only when ``need_train``; training also needs a dev split,
    on which the best checkpoint is chosen)."""
    limits = {"train": data.max_train_samples, "eval": data.max_eval_samples}
    limits = {k: v for k, v in limits.items() if v is not None}
    if data.task is not None:
        splits = ("train", "dev") if need_train else ("dev",)
        train_file = data.train if need_train else None
        return load_glue(data.task, data.data_dir, splits=splits, max_samples=limits or None, train_file=train_file)
    if need_train and data.train is None:
        raise TinyBertError("--train FILE is required for training")
    if need_train and data.dev is None:
        raise TinyBertError("--dev FILE is required: the best checkpoint is chosen on it")
    evals = {"dev": data.dev} if data.dev is not None else {}
    return load_custom(
        data.train if need_train else None,
        evals,
        data.text_columns,
        data.label_column,
        regression=data.regression,
        max_samples=limits or None,
    )


def model_labels(model: PreTrainedModel, task: TaskData) -> tuple[str, ...] | None:
    """The model's labels in id order (None for regression)."""
    if task.spec.is_regression:
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
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length or task.spec.max_seq_length
        label2id = None if labels is None else {name: i for i, name in enumerate(labels)}
        regression = task.spec.is_regression

        def enc(examples: list) -> list[dict]:
            return encode(examples, tokenizer, self.max_seq_length, label2id, regression)

        self.train = enc(task.train) if task.train else []
        self.evals = {name: enc(examples) for name, examples in task.evals.items()}
        self.positive_label = (
            None
            if labels is None or len(labels) != 2
            else (labels.index(task.spec.label_names[-1]) if task.spec.label_names else 1)
        )

    def train_loader(self, batch_size: int, seed: int) -> DataLoader:
        return make_loader(self.train, self.tokenizer, batch_size, shuffle=True, seed=seed)

    def eval_loaders(self, batch_size: int) -> dict[str, DataLoader]:
        return {name: make_loader(f, self.tokenizer, batch_size, shuffle=False) for name, f in self.evals.items()}
