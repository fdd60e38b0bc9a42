"""General distillation (TinyBERT stage 1): a bare student learns a pre-trained teacher's
intermediate layers (embedding, attention scores, hidden states) on raw text.

Step-based and resumable. The loop, top to bottom: draw a batch of packed blocks
(:mod:`tinybert.data.corpus`), compute the intermediate losses with the same
:class:`~tinybert.distillation.objective.DistillationModule` as task distillation, step AdamW and the linear
warm-up/decay schedule, log every loss part, evaluate on the held-out blocks every
``eval_steps``, and checkpoint every ``save_steps``.

A checkpoint is Accelerate's ``save_state`` (student + projections, optimizer, Python/NumPy/torch
RNG states) plus two registered objects (the LR scheduler and the corpus stream: position,
shuffle buffer, buffer RNG) and ``state.json`` (step, tokens, time, run settings). The frozen
teacher's weights are left out (it is reloaded from ``--teacher``). It is written to a temporary
folder and renamed into place, so an interruption at any moment leaves the previous checkpoint
intact. ``--resume`` loads the newest one and continues exactly where it was written: the
losses of an interrupted and resumed run are those of an uninterrupted one.

The output folder holds the student as a plain Hugging Face encoder (``config.json``,
``model.safetensors``, tokenizer; no projections), ``metrics.json``, ``train_log.jsonl``,
TensorBoard ``logs/`` and ``checkpoints/`` (the newest ``keep_checkpoints``; delete it once the
run is done to free the space). ``tinybert distill --student OUTPUT`` takes it as the init.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from safetensors import safe_open
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup, set_seed

from tinybert.config import GeneralConfig
from tinybert.data.corpus import BlockStream, Corpus, CorpusConfig, heldout_blocks
from tinybert.distillation.objective import DistillationModule
from tinybert.errors import TinyBertError
from tinybert.io.environment import environment
from tinybert.io.outputs import output_folder, replace_dir, write_json
from tinybert.models.attention import use_training_attention
from tinybert.models.loading import count_parameters, load_config, load_encoder, load_tokenizer
from tinybert.models.saving import install_model, save_model
from tinybert.models.students import make_student
from tinybert.options import build, signature
from tinybert.training.loop import MetricLog, adamw, mean_loss, param_groups

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^step-(\d+)$")
_OUR_FILES = ("checkpoints", "logs", "train_log.jsonl", "metrics.json")
"""What a run writes beside the model files; ``--overwrite`` removes them so no stale checkpoint survives."""


# ---------------------------------------------------------------------------------------------
# Checkpoints


def latest_checkpoint(output: Path) -> Path | None:
    """The newest complete checkpoint folder ``output/checkpoints/step-N`` (None when there is none)."""
    return (_checkpoints(output) or [None])[-1]


def _checkpoints(output: Path) -> list[Path]:
    root = output / "checkpoints"
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _CHECKPOINT.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(_CHECKPOINT.match(p.name).group(1)))


def save_checkpoint(accelerator: Accelerator, output: Path, step: int, state: dict, keep: int) -> Path:
    """Write the full training state for ``step`` atomically and prune to the newest ``keep``."""
    root = output / "checkpoints"
    final = root / f"step-{step:08d}"
    tmp = root / f"step-{step:08d}.tmp"
    if accelerator.is_main_process and tmp.exists():
        shutil.rmtree(tmp)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    if accelerator.is_main_process:
        write_json(tmp / "state.json", state)
        replace_dir(tmp, final)
        for old in _checkpoints(output)[:-keep]:
            shutil.rmtree(old)
    accelerator.wait_for_everyone()
    return final


def _is_teacher_key(key: str) -> bool:
    parts = key.split(".")
    return parts[0] == "teacher" or parts[:2] == ["module", "teacher"]  # "module." under DDP


def _without_teacher(models: list, weights: list[dict], output_dir: str) -> None:
    """Accelerate save hook: the frozen teacher is reloaded from --teacher, not checkpointed."""
    for state in weights:
        for key in [k for k in state if _is_teacher_key(k)]:
            del state[key]


def _load_checkpoint(accelerator: Accelerator, module: torch.nn.Module, checkpoint: Path) -> dict:
    """Restore the training state from ``checkpoint``; returns its ``state.json``."""
    with safe_open(str(checkpoint / "model.safetensors"), framework="pt") as f:
        saved = set(f.keys())
    expected = {k for k in module.state_dict() if not _is_teacher_key(k)}
    if saved != expected:
        missing = sorted(expected - saved)[:3] or sorted(saved - expected)[:3]
        raise TinyBertError(
            f"--resume: checkpoint {checkpoint} does not match this student (e.g. {', '.join(missing)})"
        )
    accelerator.load_state(str(checkpoint), strict=False)  # not strict: the teacher's weights are not in it
    return json.loads((checkpoint / "state.json").read_text())


def _check_resume(config: GeneralConfig, settings: dict) -> Path:
    checkpoint = latest_checkpoint(config.output)
    if checkpoint is None:
        raise TinyBertError(f"--resume: no checkpoint in {config.output / 'checkpoints'} to continue from")
    saved = json.loads((checkpoint / "state.json").read_text())["settings"]
    changed = [k for k in settings if saved.get(k) != settings[k]]
    if changed:
        name = changed[0]
        was, now = saved.get(name), settings[name]
        if name == "corpus":
            was, now = f"{len(was or [])} files", f"{len(now)} files (or changed sizes/formats)"
        raise TinyBertError(
            f"--resume: {name.replace('_', '-')} was {was} in {checkpoint.name}, now {now}; "
            "resume with the settings of the interrupted run"
        )
    return checkpoint


def _check_output(config: GeneralConfig) -> None:
    out = config.output.resolve()
    inputs = [("--teacher", config.teacher)] + [("--corpus", path) for path in config.corpus]
    for option, path in inputs:
        p = Path(path).resolve()
        if Path(path).exists() and (p == out or p in out.parents or out in p.parents):
            raise TinyBertError(f"--output {config.output}: overlaps {option} {path}; choose a separate folder")
    if config.resume:
        return
    if out.is_dir() and any(out.iterdir()) and not config.overwrite:
        raise TinyBertError(
            f"--output {config.output}: folder exists and is not empty; pass --resume to continue its run "
            "or --overwrite to start again"
        )


# ---------------------------------------------------------------------------------------------
# The run


def corpus_config(config: GeneralConfig) -> CorpusConfig:
    """How the corpus is cut into blocks."""
    return CorpusConfig(
        paths=tuple(config.corpus),
        format=config.corpus_format,
        max_seq_length=config.max_seq_length,
        eval_blocks=config.eval_blocks,
        shuffle_buffer=config.shuffle_buffer,
    )


def run_settings(config: GeneralConfig, corpus: Corpus, num_processes: int) -> dict:
    """Everything that decides the training trajectory: a resumed run must match it exactly."""
    teacher = Path(config.teacher)
    return json.loads(
        json.dumps(
            {
                "teacher": str(teacher.resolve()) if teacher.exists() else config.teacher,
                "student": asdict(config.student),
                "corpus": corpus.signature(),
                "corpus_format": config.corpus_format,
                "max_seq_length": config.max_seq_length,
                "eval_blocks": config.eval_blocks,
                "shuffle_buffer": config.shuffle_buffer,
                "max_steps": config.max_steps,
                "batch_size": config.batch_size,
                "gradient_accumulation_steps": config.gradient_accumulation_steps,
                "learning_rate": config.learning_rate,
                "warmup_ratio": config.warmup_ratio,
                "weight_decay": config.weight_decay,
                "max_grad_norm": config.max_grad_norm,
                "loss_weights": asdict(config.loss_weights),
                "seed": config.seed,
                "num_processes": num_processes,
            }
        )
    )


def run_general_distill(config: GeneralConfig) -> dict:
    """General distillation from ``config.teacher`` into a new student in ``config.output``.

    Returns the contents of ``output/metrics.json``.
    """
    corpus = Corpus.open(config.corpus, config.corpus_format)
    t_cfg = load_config(config.teacher, "--teacher")
    max_positions = getattr(t_cfg, "max_position_embeddings", None)
    if max_positions is not None and config.max_seq_length > max_positions:
        raise TinyBertError(
            f"--max-seq-length {config.max_seq_length}: the teacher takes at most {max_positions} positions"
        )
    _check_output(config)
    accelerator = Accelerator()
    settings = run_settings(config, corpus, accelerator.num_processes)
    checkpoint = _check_resume(config, settings) if config.resume else None
    with output_folder(config.output, True, {"--teacher": config.teacher}) as output:
        if config.overwrite:
            for name in _OUR_FILES:
                path = output / name
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        return _distill_into(config, corpus, settings, checkpoint, accelerator, output)


def _distill_into(
    config: GeneralConfig,
    corpus: Corpus,
    settings: dict,
    checkpoint: Path | None,
    accelerator: Accelerator,
    output: Path,
) -> dict:
    set_seed(config.seed)
    tokenizer = load_tokenizer(config.teacher, "--teacher")
    teacher = load_encoder(config.teacher, "--teacher")
    student, layer_map, student_info = make_student(config.student, teacher, None, head=False)
    if getattr(student, "pooler", None) is not None:
        # No loss reaches the pooler here (task distillation trains it): frozen, it stays out of
        # the optimizer and DDP does not wait for its gradients. It is saved as initialised.
        student.pooler.requires_grad_(False)
    scores = config.loss_weights.attention > 0
    use_training_attention(teacher, "--teacher", scores=scores)
    use_training_attention(student, "--student", scores=scores)
    module = DistillationModule(student, teacher, layer_map, config.loss_weights, stage="intermediate")

    eval_ids, train_start = heldout_blocks(corpus, tokenizer, corpus_config(config))  # (N, L)
    stream = BlockStream(corpus, tokenizer, corpus_config(config), train_start, config.seed)

    optimizer = adamw(param_groups(module, config.weight_decay), config.learning_rate, accelerator.device)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * config.max_steps), config.max_steps
    )
    # The scheduler is not prepare()d: Accelerate's wrapper steps it once per process, and here
    # one step() is one optimizer step. It is checkpointed as a registered object instead.
    module, optimizer = accelerator.prepare(module, optimizer)
    accelerator.register_for_checkpointing(scheduler, stream)
    accelerator.register_save_state_pre_hook(_without_teacher)

    progress = {"step": 0, "tokens": 0, "train_seconds": 0.0, "sessions": []}
    if checkpoint is not None:
        saved = _load_checkpoint(accelerator, module, checkpoint)
        progress = {k: saved[k] for k in progress}
        log.info("resumed from %s (step %d)", checkpoint, progress["step"])
    start_step = progress["step"]

    L = config.max_seq_length
    accum = config.gradient_accumulation_steps
    step_tokens = config.batch_size * accum * accelerator.num_processes * L
    eval_batches = [
        {"input_ids": ids.to(accelerator.device), "attention_mask": torch.ones_like(ids, device=accelerator.device)}
        for ids in eval_ids.split(config.batch_size)
    ]

    def evaluate() -> dict[str, float]:
        losses = mean_loss(module, eval_batches, accelerator) if eval_batches else {}
        module.train()
        return {f"eval_{k}": v for k, v in losses.items()}

    def next_batch() -> dict[str, torch.Tensor]:
        """This process's share of the next global batch: (batch_size, L) each."""
        rows = stream.next_batch(config.batch_size * accelerator.num_processes)
        lo = accelerator.process_index * config.batch_size
        return {k: v[lo : lo + config.batch_size].to(accelerator.device) for k, v in rows.items()}

    metric_log = MetricLog(
        output / "logs",
        output / "train_log.jsonl",
        accelerator.is_main_process,
        resume_step=start_step if checkpoint is not None else None,
    )
    bar = tqdm(
        total=config.max_steps,
        initial=start_step,
        desc="general distillation",
        disable=not accelerator.is_local_main_process,
        dynamic_ncols=True,
    )
    running: dict[str, float] = {}
    window_seconds = 0.0
    session_seconds = 0.0
    module.train()
    step = start_step
    while step < config.max_steps:
        started = time.perf_counter()
        step_parts: dict[str, float] = {}
        for micro in range(accum):
            batch = next_batch()
            sync = micro == accum - 1
            with nullcontext() if sync else accelerator.no_sync(module):
                out = module(batch)
                accelerator.backward(out.loss / accum)
            for key, value in {"loss": float(out.loss.detach()), **out.parts}.items():
                step_parts[key] = step_parts.get(key, 0.0) + value / accum
        if config.max_grad_norm > 0:
            accelerator.clip_grad_norm_(module.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        seconds = time.perf_counter() - started
        window_seconds += seconds
        session_seconds += seconds
        progress["step"], progress["tokens"] = step, progress["tokens"] + step_tokens
        progress["train_seconds"] += seconds
        bar.update(1)

        for key, value in step_parts.items():
            running[key] = running.get(key, 0.0) + value
        if step % config.log_steps == 0 or step == config.max_steps:
            n = config.log_steps if step % config.log_steps == 0 else step % config.log_steps
            means = {k: v / n for k, v in running.items()}
            tokens_per_second = n * step_tokens / window_seconds
            metric_log.write(
                step, {**means, "lr": scheduler.get_last_lr()[0], "tokens_per_second": tokens_per_second}, kind="train"
            )
            bar.set_postfix(loss=f"{means['loss']:.4f}", tok_s=f"{tokens_per_second:.0f}")
            running, window_seconds = {}, 0.0
        if step % config.eval_steps == 0 and step < config.max_steps:
            metrics = evaluate()
            metric_log.write(step, metrics, kind="eval")
            bar.write(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        if step % config.save_steps == 0 or step == config.max_steps:
            sessions = [*progress["sessions"], _session(start_step, step, session_seconds, step_tokens)]
            state = {**progress, "sessions": sessions, "settings": settings}
            save_checkpoint(accelerator, output, step, state, config.keep_checkpoints)
    bar.close()

    if step > start_step:
        progress["sessions"] = [*progress["sessions"], _session(start_step, step, session_seconds, step_tokens)]
    final_eval = evaluate()
    if step > start_step and final_eval:
        metric_log.write(step, final_eval, kind="eval")
    metric_log.close()

    trained = accelerator.unwrap_model(module)
    if accelerator.is_main_process:
        # saved atomically beside the logs and checkpoints, then its files moved into ``output``
        save_model(trained.student, tokenizer, output / "student.tmp")
        install_model(output / "student.tmp", output)
    summary = {
        "command": "general-distill",
        "teacher": {
            "path": config.teacher,
            "parameters": count_parameters(trained.teacher),
            "layers": trained.teacher.config.num_hidden_layers,
            "hidden": trained.teacher.config.hidden_size,
        },
        "student": {
            "parameters": count_parameters(trained.student),
            "layers": trained.student.config.num_hidden_layers,
            "hidden": trained.student.config.hidden_size,
            "heads": trained.student.config.num_attention_heads,
            "intermediate": trained.student.config.intermediate_size,
            "layer_map": list(layer_map.teacher_layers),
            **student_info,
        },
        "corpus": {
            "paths": list(config.corpus),
            **corpus.describe(),
            "max_seq_length": L,
            "eval_blocks": len(eval_ids),
            "train_starts_at": {"file": train_start[0], "document": train_start[1]},
            "passes_completed": stream.passes,
            "blocks_drawn": stream.blocks_drawn,
            "shuffle_buffer": config.shuffle_buffer,
        },
        "steps": step,
        "batch_size": config.batch_size,
        "gradient_accumulation_steps": accum,
        "tokens_seen": progress["tokens"],
        "train_seconds": round(progress["train_seconds"], 1),
        "tokens_per_second": round(progress["tokens"] / progress["train_seconds"], 1)
        if progress["train_seconds"]
        else None,
        "sessions": progress["sessions"],
        "eval": final_eval,
        "learning_rate": config.learning_rate,
        "warmup_ratio": config.warmup_ratio,
        "loss_weights": {k: getattr(config.loss_weights, k) for k in ("embedding", "attention", "hidden")},
        "seed": config.seed,
        "environment": environment(),
    }
    if accelerator.is_main_process:
        write_json(output / "metrics.json", summary)
    return summary


def _session(start: int, end: int, seconds: float, step_tokens: int) -> dict:
    """One uninterrupted stretch of training (a run resumed twice has three)."""
    return {
        "from_step": start,
        "to_step": end,
        "train_seconds": round(seconds, 1),
        "tokens_per_second": round((end - start) * step_tokens / seconds, 1) if seconds else None,
        "threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------------------------------------
# Keyword-argument API, the same option names as ``tinybert general-distill``


def general_distill(teacher: Any, corpus: Any, output: Any, **options: Any) -> dict:
    """General distillation on raw text; the options of ``tinybert general-distill``
    (:class:`~tinybert.config.GeneralConfig`). Returns the contents of ``output/metrics.json``."""
    return run_general_distill(
        build(GeneralConfig, {"teacher": teacher, "corpus": corpus, "output": output, **options})
    )


general_distill.__signature__ = signature(GeneralConfig, first=("teacher", "corpus", "output"))  # type: ignore[attr-defined]
