"""The one training loop, on Accelerate: teacher fine-tuning and every distillation stage use it.

The loop knows nothing about distillation: it trains a module whose ``forward(batch)`` returns a
:class:`~tinybert.distillation.objective.StepOutput`, evaluates with a callback that returns a score (higher is
better), and calls ``save_best`` whenever the score improves.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from tinybert.errors import TinyBertError
from tinybert.training import checkpoint
from tinybert.training.batches import BatchSource, EpochBatches
from tinybert.training.settings import LoopSettings

Evaluate = Callable[[nn.Module], tuple[float, dict[str, float]]]
"""Called with the unwrapped module; returns (score, metrics). Higher score is better."""


@dataclass
class TrainResult:
    best_score: float = -math.inf
    best_metrics: dict[str, float] = field(default_factory=dict)
    best_step: int = 0
    steps: int = 0
    seconds: float = 0.0
    """Training time, over every session of a resumed run."""
    sessions: list[dict] = field(default_factory=list)
    """The uninterrupted stretches of the run (one, unless it was resumed)."""


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
    appears once. ``stage``: the rows carry it (a distillation's two stages share one file and
    count their steps from 0 each); only the same stage's rows are dropped on resume.
    """

    def __init__(
        self, log_dir: Path, jsonl: Path, enabled: bool, resume_step: int | None = None, stage: str | None = None
    ) -> None:
        self.enabled = enabled
        self.jsonl = jsonl
        self.stage = stage
        purge = None if resume_step is None else resume_step + 1
        self.writer = SummaryWriter(str(log_dir), purge_step=purge) if enabled else None
        if enabled and resume_step is not None and jsonl.is_file():
            rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
            kept = [r for r in rows if r.get("stage") != stage or r["step"] <= resume_step]
            jsonl.write_text("".join(json.dumps(r) + "\n" for r in kept))

    def write(self, step: int, values: dict[str, float], kind: str) -> None:
        if not self.enabled:
            return
        for key, value in values.items():
            self.writer.add_scalar(f"{kind}/{key}", value, step)
        with self.jsonl.open("a") as f:
            stage = {} if self.stage is None else {"stage": self.stage}
            f.write(json.dumps({"kind": kind, "step": step, **stage, **values}) + "\n")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def make_accelerator(precision: str) -> Accelerator:
    """The Accelerator of a training command: mixed precision by ``--precision`` (see
    :class:`~tinybert.training.settings.TrainingOptions`); TF32 matmuls on CUDA."""
    cuda = torch.cuda.is_available()
    if precision == "fp16" and not cuda:
        raise TinyBertError("--precision fp16: needs a CUDA GPU; on a CPU use fp32 (or bf16)")
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    mixed = "no" if precision == "fp32" else precision
    from accelerate.state import AcceleratorState

    state = AcceleratorState._shared_state
    if state and str(state.get("_mixed_precision", mixed)) != mixed:
        # Accelerate keeps one precision per process; a library caller may run commands of several
        # precisions in one process. The distributed set-up (PartialState) is kept.
        AcceleratorState._reset_state()
    # A stage trains only some of the module (the intermediate stage never reaches the task head,
    # the prediction stage never uses the projections): DDP must not wait for their gradients.
    unused = DistributedDataParallelKwargs(find_unused_parameters=True)
    accelerator = Accelerator(mixed_precision=mixed, kwargs_handlers=[unused])
    check_distributed(str(accelerator.distributed_type))
    return accelerator


SHARDED = {"FSDP": "FSDP", "DEEPSPEED": "DeepSpeed", "MEGATRON_LM": "Megatron-LM"}
"""Accelerate's sharded set-ups, refused by :func:`check_distributed`."""


def check_distributed(distributed_type: str) -> None:
    """Refuse the set-ups whose parameters and optimizer state are sharded across processes.

    The loop saves checkpoints and the best model from the main process's full copy of the module
    (which DDP keeps on every process); under FSDP or DeepSpeed ZeRO that copy is a shard, so the
    saved files would be incomplete. Students are small enough for DDP (``accelerate launch
    --multi_gpu``). ``distributed_type``: Accelerate's ``DistributedType`` (name or ``str``).
    """
    name = distributed_type.rsplit(".", 1)[-1].upper()
    if name in SHARDED:
        raise TinyBertError(
            f"accelerate launch with {SHARDED[name]} is not supported yet: checkpoints and the saved model are "
            "written from one process's full copy of the weights, which sharding splits; launch with "
            "--multi_gpu (DDP) instead"
        )


def train_epochs(
    module: nn.Module,
    features: list[dict],
    collate: Callable[[list[dict]], dict],
    settings: LoopSettings,
    *,
    accelerator: Accelerator,
    **kwargs: Any,
) -> TrainResult:
    """:func:`train` over ``features`` for ``settings.epochs`` (or its ``max_steps``): shuffled,
    length-grouped global batches split across processes and accumulation steps (:class:`EpochBatches`)."""
    batches = EpochBatches(
        features,
        collate,
        settings.options.batch_size,
        accumulation=settings.options.gradient_accumulation_steps,
        num_processes=accelerator.num_processes,
        process_index=accelerator.process_index,
        seed=settings.options.seed,
    )
    return train(module, batches, settings, accelerator=accelerator, **kwargs)


def train_logged(
    module: nn.Module,
    features: list[dict],
    collate: Callable[[list[dict]], dict],
    settings: LoopSettings,
    *,
    accelerator: Accelerator,
    output: Path,
    checkpoints: Path,
    stage: str | None = None,
    **kwargs: Any,
) -> TrainResult:
    """:func:`train_epochs` with its metrics logged into ``output`` (TensorBoard under
    ``logs/[STAGE]``, rows in ``train_log.jsonl``) and its checkpoints in ``checkpoints``; a resumed
    run's log continues after the checkpoint it resumes from. ``kwargs``: :func:`train`'s."""
    log = MetricLog(
        output / "logs" / (stage or ""),
        output / "train_log.jsonl",
        accelerator.is_main_process,
        resume_step(checkpoints),
        stage=stage,
    )
    try:
        return train_epochs(
            module, features, collate, settings, accelerator=accelerator, log=log, checkpoints=checkpoints, **kwargs
        )
    finally:
        log.close()


def resume_step(checkpoints: Path) -> int | None:
    """The step of the newest checkpoint in ``checkpoints`` (None: nothing to resume)."""
    found = checkpoint.latest(checkpoints)
    return None if found is None else int(json.loads((found / checkpoint.STATE_FILE).read_text())["step"])


def _teacher_key(key: str) -> bool:
    parts = key.split(".")
    return parts[0] == "teacher" or parts[:2] == ["module", "teacher"]  # "module." under DDP


def train(
    module: nn.Module,
    batches: BatchSource,
    settings: LoopSettings,
    *,
    accelerator: Accelerator,
    evaluate: Evaluate | None,
    on_best: Callable[[nn.Module], None] | None,
    log: MetricLog,
    desc: str,
    checkpoints: Path | None = None,
    resume: bool = False,
    run_state: dict | None = None,
    units: tuple[str, int] | None = None,
) -> TrainResult:
    """Train ``module`` (its ``forward(batch)`` returns a :class:`StepOutput`) with AdamW and linear
    warm-up/decay, step by step from ``batches``, and return what happened.

    Each optimizer step runs the step's micro-batches (gradient accumulation: each micro-batch's
    loss weighted by its share of the step's examples, gradients synchronised across processes on
    the last one only), clips the global gradient norm and steps the optimizer and scheduler.
    Loss parts stay on the device and are read every ``log_steps`` steps. ``evaluate`` (called
    with the unwrapped module; higher score is better) runs every ``eval_steps`` steps or at the
    end of every epoch and at the last step; ``on_best`` (main process) each time the score
    improves. Every ``save_steps`` steps (default: at every evaluation) and at the last step, the
    whole state goes to ``checkpoints/step-N`` (:mod:`tinybert.training.checkpoint`); with
    ``resume`` the run continues from the newest one there and takes exactly the steps an
    uninterrupted run would. ``run_state``: values a resumed run must match (settings of the
    command), stored in the checkpoint and compared by the caller. ``units``: (name, amount per
    step), e.g. ``("tokens", 4096)``, logs ``tokens_per_second`` with the losses.
    """
    options = settings.options
    optimizer = adamw(param_groups(module, options.weight_decay), settings.learning_rate, accelerator.device)
    total_steps = settings.total_steps(batches.steps_per_epoch)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(options.warmup_ratio * total_steps), total_steps)
    # The scheduler is not prepare()d: Accelerate's wrapper steps it once per process, and here
    # one step() is one optimizer step. The batches are this loop's own (already sharded).
    module, optimizer = accelerator.prepare(module, optimizer)

    result = TrainResult()
    step = 0
    resumed_running = None
    if resume and checkpoints is not None and (found := checkpoint.latest(checkpoints)) is not None:
        tensors, state = checkpoint.load(found)
        checkpoint.restore_module(accelerator.unwrap_model(module), tensors, _teacher_key, found)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        batches.load_state_dict(state["batches"])
        checkpoint.set_rng_state(state["rng"])
        step = int(state["step"])
        resumed_running = state["running"]
        result = TrainResult(**{**state["result"], "best_score": float(state["result"]["best_score"])})
    start_step, start = step, time.perf_counter()
    bar = tqdm(
        total=total_steps, initial=step, desc=desc, disable=not accelerator.is_local_main_process, dynamic_ncols=True
    )
    running: dict[str, torch.Tensor] = {}
    running_steps, window_start = 0, time.perf_counter()
    if resumed_running is not None:
        running_steps = int(resumed_running["steps"])
        running = {k: v.to(accelerator.device) for k, v in resumed_running["sums"].items()}

    def run_eval() -> None:
        assert evaluate is not None
        score, metrics = evaluate(accelerator.unwrap_model(module))
        module.train()
        log.write(step, metrics, kind="eval")
        if settings.keep_best and score > result.best_score:
            result.best_score, result.best_metrics, result.best_step = score, metrics, step
            if accelerator.is_main_process and on_best is not None:
                on_best(accelerator.unwrap_model(module))
        accelerator.wait_for_everyone()
        bar.write(f"{desc} step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))

    def session(to_step: int) -> dict:
        return {"from_step": start_step, "to_step": to_step, "seconds": round(time.perf_counter() - start, 1)}

    def save() -> None:
        assert checkpoints is not None
        if accelerator.is_main_process:
            tensors = {k: v for k, v in accelerator.unwrap_model(module).state_dict().items() if not _teacher_key(k)}
            state = {
                "step": step,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "batches": batches.state_dict(),
                "rng": checkpoint.rng_state(),
                # the log window in progress, so the first row after a resume means the same steps
                "running": {"steps": running_steps, "sums": running},
                "result": {
                    **dataclasses.asdict(result),
                    "seconds": prior_seconds + time.perf_counter() - start,
                    # a resumed run continues after this checkpoint: its session so far ends here
                    "sessions": [*result.sessions, session(step)],
                },
                "run": run_state or {},
            }
            checkpoint.save(checkpoints, step, model=tensors, state=state, keep=options.keep_checkpoints)
        accelerator.wait_for_everyone()

    prior_seconds = result.seconds
    module.train()
    while step < total_steps:
        micro = batches.next_step()
        sizes = [len(b["input_ids"]) for b in micro]
        for i, batch in enumerate(micro):
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
            last = i == len(micro) - 1
            with nullcontext() if last else accelerator.no_sync(module):
                out = module(batch)
                weight = sizes[i] / sum(sizes)
                accelerator.backward(out.loss * weight)
            for key, value in {"loss": out.loss.detach(), **out.parts}.items():
                running[key] = running.get(key, 0.0) + value.detach() * weight
        if options.max_grad_norm > 0:
            accelerator.clip_grad_norm_(module.parameters(), options.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        running_steps += 1
        bar.update(1)
        if step % options.log_steps == 0 or step == total_steps:
            # the one host sync for the loss parts (they stay on the device between log steps)
            # (averaged over the processes: each ran its share of the global batch)
            means = {k: float(accelerator.reduce(v, "mean")) / running_steps for k, v in running.items()}
            values = {**means, "lr": scheduler.get_last_lr()[0]}
            if units is not None:
                values[f"{units[0]}_per_second"] = running_steps * units[1] / (time.perf_counter() - window_start)
            log.write(step, values, kind="train")
            bar.set_postfix(loss=f"{means['loss']:.4f}")
            running, running_steps, window_start = {}, 0, time.perf_counter()
        end_of_epoch = batches.steps_per_epoch is not None and step % batches.steps_per_epoch == 0
        due_eval = step == total_steps or (step % options.eval_steps == 0 if options.eval_steps else end_of_epoch)
        if evaluate is not None and due_eval:
            run_eval()
        due_save = step == total_steps or (step % options.save_steps == 0 if options.save_steps else due_eval)
        if checkpoints is not None and due_save:
            save()
    bar.close()
    result.steps = step
    result.seconds = prior_seconds + time.perf_counter() - start
    result.sessions = [*result.sessions, session(step)]
    return result


@torch.inference_mode()
def mean_loss(module: nn.Module, loader: DataLoader | list, accelerator: Accelerator) -> dict[str, float]:
    """Mean loss and parts of ``module`` over ``loader`` (e.g. the dev distillation loss), over the
    whole data set when the loader is sharded across processes: each batch's mean counts once per
    real example (``gather_for_metrics`` drops the examples a prepared loader repeats to even out
    the shards)."""
    module.eval()
    sums: dict[str, torch.Tensor] = {}
    count = 0
    for batch in loader:
        out = module(batch)
        n = len(batch["input_ids"])
        for key, value in {"loss": out.loss, **out.parts}.items():
            per_example = accelerator.gather_for_metrics(value.detach().float().reshape(1).expand(n))  # (N,)
            sums[key] = sums.get(key, 0.0) + per_example.sum()
        count += len(per_example)
    return {k: float(v) / max(count, 1) for k, v in sums.items()}


def stage_summary(result: TrainResult, settings: LoopSettings, num_processes: int = 1, precision: str = "fp32") -> dict:
    options = settings.options
    return {
        "precision": precision,
        "epochs": settings.epochs,
        "learning_rate": settings.learning_rate,
        "batch_size": options.batch_size,
        "global_batch_size": options.batch_size * options.gradient_accumulation_steps * num_processes,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "best_step": result.best_step,
        "best": result.best_metrics,
        "sessions": result.sessions,
    }
