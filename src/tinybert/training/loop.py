"""The one training loop, on Accelerate: teacher fine-tuning and every distillation stage use it.

The loop knows nothing about distillation: it trains a module whose ``forward(batch)`` returns a
:class:`~tinybert.distillation.objective.StepOutput`, evaluates with a callback that returns a score (higher is
better), and calls ``save_best`` whenever the score improves.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from tinybert.config import OptimConfig

Evaluate = Callable[[nn.Module], tuple[float, dict[str, float]]]
"""Called with the unwrapped module; returns (score, metrics). Higher score is better."""


@dataclass
class TrainResult:
    best_score: float = -math.inf
    best_metrics: dict[str, float] = field(default_factory=dict)
    best_step: int = 0
    steps: int = 0
    seconds: float = 0.0


def param_groups(module: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on weight matrices only, not on biases and LayerNorm weights (as BERT)."""
    decay, no_decay = [], []
    for name, param in module.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def adamw(groups: list[dict], learning_rate: float, device: torch.device) -> torch.optim.AdamW:
    """AdamW over ``groups``, with torch's fused kernel where it has one (CPU, CUDA).

    The default implementation loops over the tensors: on one CPU thread its step for a
    TinyBERT-sized student took about 100 ms against 10 ms fused, which makes a whole training
    step about 1.2x faster (BENCHMARKS.md, "Training speed"). Same algorithm, same state dict.
    """
    fused = device.type in ("cpu", "cuda") or None
    return torch.optim.AdamW(groups, lr=learning_rate, fused=fused)


class MetricLog:
    """Writes scalars to TensorBoard and to a JSON-lines file beside it (main process only).

    ``resume_step``: a run resumed from the checkpoint of this step; what an interrupted run
    logged after it is dropped from both logs (TensorBoard's ``purge_step``), so every step
    appears once.
    """

    def __init__(self, log_dir: Path, jsonl: Path, enabled: bool, resume_step: int | None = None) -> None:
        self.enabled = enabled
        self.jsonl = jsonl
        purge = None if resume_step is None else resume_step + 1
        self.writer = SummaryWriter(str(log_dir), purge_step=purge) if enabled else None
        if enabled and resume_step is not None and jsonl.is_file():
            kept = [line for line in jsonl.read_text().splitlines() if json.loads(line)["step"] <= resume_step]
            jsonl.write_text("".join(line + "\n" for line in kept))

    def write(self, step: int, values: dict[str, float], kind: str) -> None:
        if not self.enabled:
            return
        for key, value in values.items():
            self.writer.add_scalar(f"{kind}/{key}", value, step)
        with self.jsonl.open("a") as f:
            f.write(json.dumps({"kind": kind, "step": step, **values}) + "\n")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def train(
    module: nn.Module,
    train_loader: DataLoader,
    optim: OptimConfig,
    *,
    accelerator: Accelerator,
    evaluate: Evaluate,
    save_best: Callable[[nn.Module], None],
    log: MetricLog,
    desc: str,
    log_steps: int = 10,
) -> TrainResult:
    """Train ``module`` for ``optim.epochs`` epochs with AdamW and linear warm-up/decay.

    Evaluates every ``optim.eval_steps`` steps (or at the end of each epoch) and at the last
    step; calls ``save_best(unwrapped_module)`` each time the score improves.
    """
    optimizer = adamw(param_groups(module, optim.weight_decay), optim.learning_rate, accelerator.device)
    steps_per_epoch = len(train_loader)
    total_steps = max(1, math.ceil(optim.epochs * steps_per_epoch))
    scheduler = get_linear_schedule_with_warmup(optimizer, int(optim.warmup_ratio * total_steps), total_steps)
    module, optimizer, train_loader, scheduler = accelerator.prepare(module, optimizer, train_loader, scheduler)
    steps_per_epoch = len(train_loader)  # may shrink when sharded across processes
    total_steps = max(1, math.ceil(optim.epochs * steps_per_epoch))

    result = TrainResult()
    start = time.perf_counter()
    running: dict[str, list[float]] = {}
    bar = tqdm(total=total_steps, desc=desc, disable=not accelerator.is_local_main_process, dynamic_ncols=True)

    def run_eval(step: int) -> None:
        score, metrics = evaluate(accelerator.unwrap_model(module))
        module.train()
        log.write(step, metrics, kind="eval")
        if score > result.best_score:
            result.best_score, result.best_metrics, result.best_step = score, metrics, step
            if accelerator.is_main_process:
                save_best(accelerator.unwrap_model(module))
        accelerator.wait_for_everyone()
        bar.write(f"{desc} step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

    module.train()
    step = 0
    while step < total_steps:
        for batch in train_loader:
            out = module(batch)
            accelerator.backward(out.loss)
            if optim.max_grad_norm > 0:
                accelerator.clip_grad_norm_(module.parameters(), optim.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bar.update(1)
            for key, value in {"loss": float(out.loss.detach()), **out.parts}.items():
                running.setdefault(key, []).append(value)
            if step % log_steps == 0 or step == total_steps:
                means = {k: float(np.mean(v)) for k, v in running.items()}
                log.write(step, {**means, "lr": scheduler.get_last_lr()[0]}, kind="train")
                bar.set_postfix(loss=f"{means['loss']:.4f}")
                running.clear()
            end_of_epoch = optim.eval_steps is None and step % steps_per_epoch == 0
            if step == total_steps or end_of_epoch or (optim.eval_steps and step % optim.eval_steps == 0):
                run_eval(step)
            if step == total_steps:
                break
    bar.close()
    result.steps = step
    result.seconds = time.perf_counter() - start
    return result


@torch.inference_mode()
def mean_loss(module: nn.Module, loader: DataLoader, accelerator: Accelerator) -> dict[str, float]:
    """Mean loss and parts of ``module`` over ``loader`` (e.g. the dev distillation loss)."""
    module.eval()
    sums: dict[str, float] = {}
    batches = 0
    for batch in loader:
        out = module(batch)
        for key, value in {"loss": float(out.loss), **out.parts}.items():
            sums[key] = sums.get(key, 0.0) + value
        batches += 1
    return {k: v / max(batches, 1) for k, v in sums.items()}


def stage_summary(result: TrainResult, optim: OptimConfig) -> dict:
    return {
        "epochs": optim.epochs,
        "learning_rate": optim.learning_rate,
        "batch_size": optim.batch_size,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "best_step": result.best_step,
        "best": result.best_metrics,
    }
