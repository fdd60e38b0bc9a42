"""Every deployable form of a model behind one call: token ids in, the task type's outputs out.

A model is one of four kinds, told apart by what its folder holds:

* ``pytorch``: a plain Hugging Face folder (``config.json`` + ``model.safetensors``) or hub id;
* ``pytorch-int8``: ``pytorch_int8.pt``, the state dict of the model after PyTorch dynamic int8
  quantization of its Linear layers (written by ``tinybert export --format torch``);
* ``onnx`` / ``onnx-int8``: ``model.onnx`` / ``model_int8.onnx`` (``tinybert export --format onnx``),
  or a path to any ``.onnx`` file whose folder holds the config and tokenizer.

:func:`load_inference_model` gives an :class:`InferenceModel` whose :meth:`~InferenceModel.outputs`
is what ``predict``, ``benchmark``, ``evaluate`` and the export parity check call: the outputs named
by the model's task type (chosen from its config's ``architectures``; sequence classifiers:
``logits`` (B, C)).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import PretrainedConfig, PreTrainedTokenizerBase

from tinybert.config import DEVICES
from tinybert.errors import TinyBertError
from tinybert.models.loading import count_parameters, load_config, load_pretrained, load_tokenizer
from tinybert.tasks.base import TaskType, task_type_for_config

__all__ = [
    "EXPORT_INFO",
    "ONNX_FILES",
    "TORCH_INT8_FILE",
    "InferenceModel",
    "is_export",
    "load_inference_model",
    "quantize_torch_int8",
]

ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}
TORCH_INT8_FILE = "pytorch_int8.pt"
EXPORT_INFO = "export.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


@dataclass
class InferenceModel:
    """A loaded model of any kind.

    Attributes:
        name: how the user named it (path or hub id).
        kind: ``pytorch``, ``pytorch-int8``, ``onnx`` or ``onnx-int8``.
        config: the Hugging Face config (labels, ``problem_type``).
        tokenizer: the model's tokenizer.
        weights: the weight file(s) whose size is the model's disk size.
        parameters: parameter count of the model (of the PyTorch model it was exported from,
            for ONNX files that carry an ``export.json``).
        device: ``cpu`` or ``cuda``.
        forward: token-id arrays ``{name: (B, L) int64}`` -> ``{output name: float32 array}``
            (sequence classifiers: ``{"logits": (B, C)}``).
        input_names: the inputs ``forward`` takes (``token_type_ids`` only when the model has them).
        task_type: the model's task type (its head, output names, post-processing).
    """

    name: str
    kind: str
    config: PretrainedConfig
    tokenizer: PreTrainedTokenizerBase
    weights: list[Path]
    parameters: int
    device: str
    forward: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
    input_names: tuple[str, ...]
    task_type: TaskType

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.weights)

    def logits(self, batch: Mapping[str, np.ndarray | torch.Tensor]) -> np.ndarray:
        """The first output (sequence classifiers: logits ``(B, C)``) of :meth:`outputs`."""
        return self.outputs(batch)[self.task_type.output_names[0]]

    def outputs(self, batch: Mapping[str, np.ndarray | torch.Tensor]) -> dict[str, np.ndarray]:
        """The task type's outputs by name for a padded batch ``{input_ids, attention_mask[,
        token_type_ids]}`` of ``(B, L)`` (sequence classifiers: ``{"logits": (B, C)}``).

        Missing ``token_type_ids`` are zeros (a single-sentence batch); extra keys are ignored.
        """
        arrays = {k: _as_int64(v) for k, v in batch.items() if k in INPUT_NAMES}
        if "input_ids" not in arrays:
            raise TinyBertError(f"{self.name}: a batch needs input_ids")
        if "attention_mask" not in arrays:
            arrays["attention_mask"] = np.ones_like(arrays["input_ids"])
        if "token_type_ids" in self.input_names and "token_type_ids" not in arrays:
            arrays["token_type_ids"] = np.zeros_like(arrays["input_ids"])
        return self.forward({k: arrays[k] for k in self.input_names})


def _as_int64(value: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.int64)


def _onnx_file(folder: Path) -> Path | None:
    for name in ONNX_FILES.values():
        if (folder / name).is_file():
            return folder / name
    return None


def is_export(name_or_path: str | Path) -> bool:
    """True for an ONNX file, or a folder holding an ONNX or PyTorch-int8 export."""
    path = Path(name_or_path)
    if path.suffix == ".onnx":
        return True
    return path.is_dir() and (_onnx_file(path) is not None or (path / TORCH_INT8_FILE).is_file())


def _uses_token_types(config: PretrainedConfig) -> bool:
    return int(getattr(config, "type_vocab_size", 0) or 0) > 0


def quantize_torch_int8(model: torch.nn.Module) -> torch.nn.Module:
    """PyTorch dynamic quantization: Linear weights in int8, activations quantized on the fly.

    ``torch.ao.quantization`` is deprecated in favour of torchao, but it is the one dynamic int8
    path that ships with torch itself and runs on any x86/ARM CPU; its deprecation warning is
    silenced here because the user cannot act on it.
    """
    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError as err:  # a future torch without torch.ao.quantization
        raise TinyBertError(f"this torch ({torch.__version__}) has no dynamic int8 quantization: {err}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model.eval(), {torch.nn.Linear}, dtype=torch.qint8)


def _load_pytorch(
    name: str, device: str, int8: bool
) -> tuple[torch.nn.Module, PretrainedConfig, list[Path], int, TaskType]:
    config = load_config(name, "--model")
    folder = Path(name)
    task_type = task_type_for_config(config, f"--model {name}", folder if folder.is_dir() else None)
    head_class = task_type.head_class
    if int8:
        if device != "cpu":
            raise TinyBertError(f"--model {name}: a PyTorch int8 model runs on the CPU only, not on {device}")
        model = head_class.from_config(config, attn_implementation="eager")
        parameters = count_parameters(model)
        model = quantize_torch_int8(model)
        weights = [folder / TORCH_INT8_FILE]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # TypedStorage deprecation inside torch.load of packed params
                state = torch.load(weights[0], map_location="cpu", weights_only=True)
            model.load_state_dict(state)
        except (OSError, RuntimeError, KeyError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise TinyBertError(f"--model {weights[0]}: not a PyTorch int8 export of this config ({first})") from None
    else:
        model = load_pretrained(head_class, name, "--model", attn_implementation=_inference_attention(config))
        config = model.config  # what the head class read (a sentence embedder's: with its head's record)
        parameters = count_parameters(model)
        weights = (sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))) if folder.is_dir() else []
    return model.to(device).eval(), config, weights, parameters, task_type


def _inference_attention(config: PretrainedConfig) -> str:
    """``sdpa`` where the model's class supports it, else its own eager attention (DeBERTa-v2, MPNet)."""
    from transformers import AutoModel

    try:
        model_class = AutoModel._model_mapping[type(config)]
    except KeyError:
        return "eager"
    return "sdpa" if getattr(model_class, "_supports_sdpa", False) else "eager"


def _torch_forward(
    model: torch.nn.Module, device: str, input_names: tuple[str, ...], output_names: tuple[str, ...]
) -> Callable:
    @torch.inference_mode()
    def forward(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = {k: torch.from_numpy(arrays[k]).to(device) for k in input_names}
        out = model(**inputs)
        if device == "cuda":
            torch.cuda.synchronize()
        return {name: out[name].float().cpu().numpy() for name in output_names}

    return forward


def _onnx_forward(session, path: Path, output_names: tuple[str, ...]) -> Callable:  # session: InferenceSession
    found = [o.name for o in session.get_outputs()]
    missing = [n for n in output_names if n not in found]
    if missing:
        raise TinyBertError(f"{path}: ONNX outputs {found}, expected {list(output_names)} for this model's task type")

    def forward(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = session.run(list(output_names), arrays)
        return {n: np.asarray(v, dtype=np.float32) for n, v in zip(output_names, values, strict=True)}

    return forward


def _onnx_session(path: Path, device: str, threads: int | None):  # -> onnxruntime.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    providers = ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            raise TinyBertError(
                f"--device cuda: onnxruntime has no CUDA provider here (install onnxruntime-gpu) for {path}"
            )
        providers.insert(0, "CUDAExecutionProvider")
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as err:  # onnxruntime raises its own exception types for unreadable files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise TinyBertError(f"{path}: cannot load the ONNX model ({first})") from None


def _onnx_parameters(path: Path) -> int:
    """Elements of the graph's weight initializers (scalar quantization scales left out)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return sum(int(np.prod(t.dims)) for t in graph.initializer if len(t.dims) >= 1 and int(np.prod(t.dims)) > 1)


def resolve_device(device: str, torch_fp32: bool = True) -> str:
    """``--device``: ``auto`` is the GPU where PyTorch sees one and the model is a PyTorch fp32 one
    (ONNX and PyTorch int8 models run on the CPU), else the CPU; cpu and cuda stay as they are."""
    if device != "auto":
        return device
    return "cuda" if torch_fp32 and torch.cuda.is_available() else "cpu"


def load_inference_model(name: str | Path, device: str = "cpu", threads: int | None = None) -> InferenceModel:
    """Load any kind of model (see the module docstring) for inference on ``device``.

    ``threads`` sets onnxruntime's intra-op threads (PyTorch uses ``torch.set_num_threads``).

    Raises:
        TinyBertError: a missing path, a folder without config/tokenizer, an unreadable model file,
            a model whose head no task type knows, or a device the kind cannot run on.
    """
    if device not in DEVICES:
        raise TinyBertError(f"--device {device}: expected one of {', '.join(DEVICES)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise TinyBertError("--device cuda: no CUDA GPU is visible to PyTorch here")
    path = Path(name)
    if path.suffix == ".onnx":
        if not path.is_file():
            raise TinyBertError(f"--model {name}: ONNX file not found")
        onnx_path, folder = path, path.parent
    elif path.is_dir():
        onnx_path, folder = _onnx_file(path), path
    elif path.exists():
        raise TinyBertError(f"--model {name}: expected a model folder or an .onnx file")
    elif path.is_absolute() or len(path.parts) > 2 or str(name).startswith("."):
        raise TinyBertError(f"--model {name}: folder not found")  # cannot be a hub id (org/name)
    else:
        onnx_path, folder = None, path  # a hub id
    name = str(name)

    int8 = path.is_dir() and (path / TORCH_INT8_FILE).is_file()
    device = resolve_device(device, torch_fp32=onnx_path is None and not int8)

    if onnx_path is not None:
        config = load_config(str(folder), "--model")
        task_type = task_type_for_config(config, f"--model {name}", folder)
        tokenizer = load_tokenizer(str(folder), "--model")
        session = _onnx_session(onnx_path, device, threads)
        input_names = tuple(i.name for i in session.get_inputs())
        unknown = [n for n in input_names if n not in INPUT_NAMES]
        if unknown:
            raise TinyBertError(f"{onnx_path}: unexpected ONNX inputs {unknown}; expected some of {list(INPUT_NAMES)}")
        info = folder / EXPORT_INFO
        parameters = None
        if info.is_file() and onnx_path.parent == folder:
            parameters = json.loads(info.read_text()).get("parameters")
        kind = "onnx-int8" if onnx_path.name == ONNX_FILES["onnx-int8"] or "int8" in onnx_path.stem else "onnx"
        return InferenceModel(
            name=name,
            kind=kind,
            config=config,
            tokenizer=tokenizer,
            weights=[onnx_path],
            parameters=int(parameters) if parameters is not None else _onnx_parameters(onnx_path),
            device=device,
            forward=_onnx_forward(session, onnx_path, task_type.output_names),
            input_names=input_names,
            task_type=task_type,
        )

    model, config, weights, parameters, task_type = _load_pytorch(name, device, int8)
    tokenizer = load_tokenizer(name, "--model")
    input_names = INPUT_NAMES if _uses_token_types(config) else INPUT_NAMES[:2]
    return InferenceModel(
        name=name,
        kind="pytorch-int8" if int8 else "pytorch",
        config=config,
        tokenizer=tokenizer,
        weights=weights,
        parameters=parameters,
        device=device,
        forward=_torch_forward(model, device, input_names, task_type.output_names),
        input_names=input_names,
        task_type=task_type,
    )
