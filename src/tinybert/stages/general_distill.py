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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from transformers import PreTrainedTokenizerBase, set_seed

from tinybert.config import GeneralConfig
from tinybert.data.corpus import BlockStream, Corpus, CorpusConfig, heldout_blocks
from tinybert.distillation.objective import DistillationModule
from tinybert.errors import TinyBertError
from tinybert.io.environment import environment
from tinybert.io.outputs import output_folder, write_json
from tinybert.models.attention import use_training_attention
from tinybert.models.layer_map import LayerMap
from tinybert.models.loading import count_parameters, describe_encoder, load_config, load_encoder, load_tokenizer
from tinybert.models.saving import install_model, save_model
from tinybert.models.students import make_student
from tinybert.results import GeneralResult, parse
from tinybert.training import checkpoint
from tinybert.training.batches import StreamBatches
from tinybert.training.loop import MetricLog, TrainResult, make_accelerator, mean_loss, train
from tinybert.training.settings import LoopSettings

log = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^step-(\d+)$")
_OUR_FILES = ("checkpoints", "logs", "train_log.jsonl", "metrics.json")
"""What a run writes beside the model files; ``--overwrite`` removes them so no stale checkpoint survives."""


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _check_resume(config: GeneralConfig, settings: dict) -> Path:
    found = checkpoint.latest(config.run.output / "checkpoints")
    if found is None:
        raise TinyBertError(f"--resume: no checkpoint in {config.run.output / 'checkpoints'} to continue from")
    saved = json.loads((found / checkpoint.STATE_FILE).read_text()).get("run", {})
    changed = [k for k in settings if saved.get(k) != settings[k]]
    if changed:
        name = changed[0]
        was, now = saved.get(name), settings[name]
        if name == "corpus":
            was, now = f"{len(was or [])} files", f"{len(now)} files (or changed sizes/formats)"
        raise TinyBertError(
            f"--resume: {name.replace('_', '-')} was {was} in {found.name}, now {now}; "
            "resume with the settings of the interrupted run"
        )
    return found


def _check_output(config: GeneralConfig) -> None:
    out = config.run.output.resolve()
    inputs = [("--teacher", config.teacher)] + [("--corpus", path) for path in config.corpus]
    for option, path in inputs:
        p = Path(path).resolve()
        if Path(path).exists() and (p == out or p in out.parents or out in p.parents):
            raise TinyBertError(f"--output {config.run.output}: overlaps {option} {path}; choose a separate folder")
    if config.run.resume:
        return
    if out.is_dir() and any(out.iterdir()) and not config.run.overwrite:
        raise TinyBertError(
            f"--output {config.run.output}: folder exists and is not empty; pass --resume to continue its run "
            "or --overwrite to start again"
        )


# ---------------------------------------------------------------------------------------------
# The run


def corpus_config(config: GeneralConfig) -> CorpusConfig:
    """How the corpus is cut into blocks."""
    return CorpusConfig(
        paths=tuple(config.corpus),
        format=config.corpus_format,
        max_seq_length=config.data.max_seq_length,
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
                "max_seq_length": config.data.max_seq_length,
                "eval_blocks": config.eval_blocks,
                "shuffle_buffer": config.shuffle_buffer,
                "max_steps": config.training.max_steps,
                "batch_size": config.training.batch_size,
                "gradient_accumulation_steps": config.training.gradient_accumulation_steps,
                "learning_rate": config.training.learning_rate[0],
                "warmup_ratio": config.training.warmup_ratio,
                "weight_decay": config.training.weight_decay,
                "max_grad_norm": config.training.max_grad_norm,
                "loss_weights": asdict(config.losses.loss_weights),
                "seed": config.training.seed,
                "num_processes": num_processes,
            }
        )
    )


def run_general_distill(config: GeneralConfig) -> GeneralResult:
    """General distillation from ``config.teacher`` into a new student in ``config.run.output``.

    Returns the record written to ``output/metrics.json``.
    """
    corpus = Corpus.open(config.corpus, config.corpus_format)
    t_cfg = load_config(config.teacher, "--teacher")
    max_positions = getattr(t_cfg, "max_position_embeddings", None)
    if max_positions is not None and config.data.max_seq_length > max_positions:
        raise TinyBertError(
            f"--max-seq-length {config.data.max_seq_length}: the teacher takes at most {max_positions} positions"
        )
    accelerator = make_accelerator(config.training.precision)
    if accelerator.is_main_process:
        _check_output(config)
    settings = run_settings(config, corpus, accelerator.num_processes)
    checkpoint_dir = _check_resume(config, settings) if config.run.resume else None
    if not accelerator.is_main_process:  # the main process prepares the folder; nothing else touches it
        accelerator.wait_for_everyone()
        return _distill_general_into(config, corpus, settings, checkpoint_dir, accelerator, config.run.output)
    with output_folder(config.run.output, True, {"--teacher": config.teacher}) as output:
        if config.run.overwrite:
            for name in _OUR_FILES:
                path = output / name
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        accelerator.wait_for_everyone()
        return _distill_general_into(config, corpus, settings, checkpoint_dir, accelerator, output)


@dataclass
class GeneralRun:
    """What setup gives training and the save: the corpus streams, the models and how they map."""

    config: GeneralConfig
    accelerator: Accelerator
    corpus: Corpus
    tokenizer: PreTrainedTokenizerBase
    module: DistillationModule
    layer_map: LayerMap
    student_info: dict
    eval_ids: torch.Tensor
    """(N, L): the held-out blocks."""
    train_start: tuple[int, int]
    stream: BlockStream

    @property
    def step_tokens(self) -> int:
        """Tokens per optimizer step, over every process."""
        tr = self.config.training
        return (
            tr.batch_size
            * tr.gradient_accumulation_steps
            * self.accelerator.num_processes
            * self.config.data.max_seq_length
        )


def _distill_general_into(
    config: GeneralConfig,
    corpus: Corpus,
    settings: dict,
    checkpoint_dir: Path | None,
    accelerator: Accelerator,
    output: Path,
) -> GeneralResult:
    """Setup, training (resumed from ``checkpoint_dir`` if given), then the student saved and described."""
    run = _setup(config, corpus, accelerator)
    evaluate = _evaluator(run)
    result = _train(run, evaluate, settings, checkpoint_dir, output)
    return _save(run, result, evaluate, output)


def _setup(config: GeneralConfig, corpus: Corpus, accelerator: Accelerator) -> GeneralRun:
    """The teacher, the held-out blocks, the student (built and initialised) and the training stream."""
    set_seed(config.training.seed)
    tokenizer = load_tokenizer(config.teacher, "--teacher")
    teacher = load_encoder(config.teacher, "--teacher")

    def importance_batches() -> list[dict[str, torch.Tensor]]:  # --init prune: the first training blocks
        sample = BlockStream(corpus, tokenizer, corpus_config(config), train_start, config.training.seed)
        n = config.student.prune_samples
        return [sample.next_batch(min(32, n - i)) for i in range(0, n, 32)]

    eval_ids, train_start = heldout_blocks(corpus, tokenizer, corpus_config(config))  # (N, L)
    student, layer_map, student_info = make_student(
        config.student, teacher, None, head=False, batches=importance_batches
    )
    if getattr(student, "pooler", None) is not None:
        # No loss reaches the pooler here (task distillation trains it): frozen, it stays out of
        # the optimizer and DDP does not wait for its gradients. It is saved as initialised.
        student.pooler.requires_grad_(False)
    scores = config.losses.loss_weights.attention > 0
    use_training_attention(teacher, "--teacher", scores=scores)
    use_training_attention(student, "--student", scores=scores)
    module = DistillationModule(
        student,
        teacher,
        layer_map,
        config.losses.loss_weights,
        stage="intermediate",
        kept_hidden=student_info.get("kept_hidden"),
        kept_heads=student_info.get("kept_heads"),
    )
    stream = BlockStream(corpus, tokenizer, corpus_config(config), train_start, config.training.seed)
    return GeneralRun(
        config, accelerator, corpus, tokenizer, module, layer_map, student_info, eval_ids, train_start, stream
    )


def _evaluator(run: GeneralRun) -> Callable[[torch.nn.Module], tuple[float, dict[str, float]]]:
    """The held-out distillation loss (higher score = lower loss), in batches of the training size."""
    accelerator, size = run.accelerator, run.config.training.batch_size
    eval_batches = [
        {"input_ids": ids.to(accelerator.device), "attention_mask": torch.ones_like(ids, device=accelerator.device)}
        for ids in run.eval_ids.split(size)
    ]

    def evaluate(trained: torch.nn.Module) -> tuple[float, dict[str, float]]:
        losses = mean_loss(trained, eval_batches, accelerator) if eval_batches else {}
        return -losses.get("loss", 0.0), {f"eval_{k}": v for k, v in losses.items()}

    return evaluate


def _train(
    run: GeneralRun, evaluate: Callable, settings: dict, checkpoint_dir: Path | None, output: Path
) -> TrainResult:
    """The loop over the corpus stream for --max-steps, logged into ``output`` and checkpointed."""
    accelerator, tr = run.accelerator, run.config.training
    resume_step = None
    if checkpoint_dir is not None:
        resume_step = int(json.loads((checkpoint_dir / checkpoint.STATE_FILE).read_text())["step"])
    metric_log = MetricLog(output / "logs", output / "train_log.jsonl", accelerator.is_main_process, resume_step)
    batches = StreamBatches(
        run.stream,
        tr.batch_size,
        accumulation=tr.gradient_accumulation_steps,
        num_processes=accelerator.num_processes,
        process_index=accelerator.process_index,
    )
    result = train(
        run.module,
        batches,
        LoopSettings(tr, learning_rate=tr.learning_rate[0], keep_best=False),
        accelerator=accelerator,
        evaluate=evaluate,
        on_best=None,
        log=metric_log,
        desc="general distillation",
        checkpoints=output / "checkpoints",
        resume=checkpoint_dir is not None,
        run_state=settings,
        units=("tokens", run.step_tokens),
    )
    metric_log.close()
    return result


def _save(run: GeneralRun, result: TrainResult, evaluate: Callable, output: Path) -> GeneralResult:
    """The student into ``output``; returns the summary written to ``metrics.json``."""
    config, accelerator, tr = run.config, run.accelerator, run.config.training
    module = run.module
    final_eval = evaluate(accelerator.unwrap_model(module))[1]
    step, step_tokens = result.steps, run.step_tokens
    sessions = [
        {
            **s,
            "tokens_per_second": round((s["to_step"] - s["from_step"]) * step_tokens / s["seconds"], 1)
            if s.get("seconds")
            else None,
        }
        for s in result.sessions
    ]
    trained = accelerator.unwrap_model(module)
    if accelerator.is_main_process:
        # saved atomically beside the logs and checkpoints, then its files moved into ``output``
        save_model(trained.student, run.tokenizer, output / "student.tmp")
        install_model(output / "student.tmp", output)
    tokens = step * step_tokens
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
            "intermediate": describe_encoder(trained.student.config, "--student").intermediate,
            "layer_map": list(run.layer_map.teacher_layers),
            **run.student_info,
        },
        "corpus": {
            "paths": list(config.corpus),
            **run.corpus.describe(),
            "max_seq_length": config.data.max_seq_length,
            "eval_blocks": len(run.eval_ids),
            "train_starts_at": {"file": run.train_start[0], "document": run.train_start[1]},
            "passes_completed": run.stream.passes,
            "blocks_drawn": run.stream.blocks_drawn,
            "shuffle_buffer": config.shuffle_buffer,
        },
        "steps": step,
        "batch_size": tr.batch_size,
        "gradient_accumulation_steps": tr.gradient_accumulation_steps,
        "tokens_seen": tokens,
        "train_seconds": round(result.seconds, 1),
        "tokens_per_second": round(tokens / result.seconds, 1) if result.seconds else None,
        "sessions": sessions,
        "eval": final_eval,
        "learning_rate": tr.learning_rate[0],
        "warmup_ratio": tr.warmup_ratio,
        "loss_weights": {k: getattr(config.losses.loss_weights, k) for k in ("embedding", "attention", "hidden")},
        "seed": tr.seed,
        "environment": environment(),
    }
    if accelerator.is_main_process:
        write_json(output / "metrics.json", summary)
    return parse(GeneralResult, summary)
