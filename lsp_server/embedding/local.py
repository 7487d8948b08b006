"""The local embedder: a transformers model from a folder, on the CPU or a GPU.

The reference is the model card's own transformers recipe (tokenizer output as is; the hidden state of
the last non-padding token, or the mean over the mask), made fast where it costs nothing in exactness:
texts are tokenized once, sorted by token count and cut into batches by a token budget so that little
padding is computed, and results go back in input order.
"""

from __future__ import annotations

import contextlib
import gc
import math
import threading
import warnings
from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np
import torch

from .base import (
    SIDES,
    TASKS,
    EmbeddingError,
    Side,
    Task,
    Vectors,
    check_embed_request,
    check_task_side,
    truncate_dim,
)
from .prefixes import PrefixStyle, prefix_for
from .profiles import Pooling

Precision = Literal["fp32", "bf16", "fp16", "int8"]
PRECISIONS: tuple[Precision, ...] = get_args(Precision)
_DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

# Padded tokens per forward pass on a GPU, which wants large batches; on a CPU see default_batch_tokens.
GPU_BATCH_TOKENS = 32768
# On a CPU a batch is fastest while its MLP activations stay in cache: measured with
# bench/embed_throughput.py, about 1024 tokens for MiniLM (intermediate 1536) and 512 for the
# Qwen2.5-Coder-0.5B shape (intermediate 4864); batches of 8192 tokens took 1.3x (MiniLM) to 2.4x as long.
CPU_ACTIVATION_BYTES = 8 << 20


def default_batch_tokens(device: str, intermediate_size: int | None) -> int:
    """The padded-token budget per forward pass for this device and model width."""
    if not device.startswith("cpu"):
        return GPU_BATCH_TOKENS
    width = intermediate_size or 3072
    return 2 ** min(11, max(8, round(math.log2(CPU_ACTIVATION_BYTES / (4 * width)))))


def default_precision(device: str) -> Precision:
    """Full quality for the device: bf16 on a GPU (fp16 where bf16 is unsupported), fp32 on a CPU."""
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def resolve_precision(device: str, precision: str | None) -> Precision:
    """Check ``precision`` against the device; ``None`` means the device's default."""
    if precision is None:
        return default_precision(device)
    if precision not in PRECISIONS:
        raise EmbeddingError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if precision == "int8" and not device.startswith("cpu"):
        raise EmbeddingError("precision int8 (torch dynamic quantization) runs on the CPU only")
    return precision


def is_reduced_precision(device: str, precision: Precision) -> bool:
    """Whether vectors differ materially from the device's full-quality default (so the model id must say so).

    On a GPU the default is bf16 and fp32 only adds digits; on a CPU anything but fp32 is an opt-in
    trade of quality for speed.
    """
    if device.startswith("cuda"):
        return precision == "int8"
    return precision != "fp32"


def is_decoder_config(config: Any) -> bool:
    """Causal language models (Qwen2, Llama, …) as opposed to bidirectional encoders (BERT, RoBERTa, …)."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    model_type = getattr(config, "model_type", "")
    if getattr(config, "is_decoder", False):
        return True
    return (
        model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    )


def pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    """Pool token states (batch, seq, dim) into float32 vectors (batch, dim) under any padding side."""
    hidden = hidden.float()
    if pooling == "last":
        # The last position whose mask is 1, wherever the padding is; never blindly position -1.
        positions = torch.arange(mask.shape[1], device=mask.device)
        last = (mask * positions).argmax(dim=1)
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def token_budget_batches(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices grouped into batches whose padded size (rows x longest) stays within ``budget``.

    Texts are sorted longest first, so each batch pads to its first text and neighbours have similar
    lengths; a text longer than the budget gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= budget:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class TransformersEmbedder:
    """The :class:`~lsp_server.embedding.base.Embedder` for a transformers model in a local folder."""

    def __init__(
        self,
        path: str,
        *,
        model_id: str,
        pooling: Pooling,
        max_length: int,
        prefix_style: PrefixStyle = "none",
        device: str = "cpu",
        precision: str | None = None,
        batch_tokens: int | None = None,
        padding_side: Literal["left", "right"] | None = None,
        selection_reason: str = "",
    ) -> None:
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self._device = _normalise_device(device)
        self.precision = resolve_precision(self._device, precision)
        self._model_id = model_id
        self._selection_reason = selection_reason or f"named: {model_id}"
        self.pooling: Pooling = pooling
        self.max_length = max_length
        self.prefix_style: PrefixStyle = prefix_style
        if batch_tokens is not None and batch_tokens < 1:
            raise EmbeddingError(f"batch_tokens must be positive, got {batch_tokens}")
        on_gpu = self._device.startswith("cuda")
        # A GPU holds 16-bit weights; a CPU keeps fp32 weights and runs 16-bit matrix products under
        # autocast, so that norms and the residual stream stay fp32 (closer to the fp32 vectors).
        dtype = _DTYPES[self.precision] if on_gpu else torch.float32
        try:
            config = AutoConfig.from_pretrained(path, local_files_only=True)
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(
                path, local_files_only=True, dtype=dtype, attn_implementation="sdpa"
            )
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"cannot load a transformers model from {path}: {exc}") from exc
        self.batch_tokens = batch_tokens or default_batch_tokens(
            self._device, getattr(config, "intermediate_size", None)
        )
        self.is_decoder = is_decoder_config(config)
        # Decoders read left to right: left padding keeps every text's last token in the last column.
        self.padding_side = padding_side or ("left" if self.is_decoder else "right")
        model.eval()
        if self.precision == "int8":
            model = _quantize_int8(model)
        self.model: Any = model.to(self._device)
        self._autocast = None if on_gpu or self.precision in ("fp32", "int8") else _DTYPES[self.precision]
        self._dim = int(config.hidden_size)
        # A fast tokenizer raises "Already borrowed" when two threads use it at once; model calls may overlap.
        self._tokenizer_lock = threading.Lock()
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else (self.tokenizer.eos_token_id or 0))

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def device(self) -> str:
        return self._device

    @property
    def selection_reason(self) -> str:
        return self._selection_reason

    def prefix(self, task: Task, side: Side) -> str:
        check_task_side(task, side)
        return prefix_for(self.prefix_style, task, side)

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as the model sees them: special tokens as the tokenizer adds them, cut at max_length."""
        if not texts:
            return []
        with self._tokenizer_lock:
            encoded = self.tokenizer(
                list(texts),
                add_special_tokens=True,
                truncation=True,
                max_length=self.max_length,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
        return [list(ids) for ids in encoded["input_ids"]]

    def count_tokens(
        self, texts: Sequence[str], task: Task | None = None, side: Side | None = None
    ) -> list[int]:
        """Token counts with the prefix of ``task``/``side``; without them, with the longest (a bound)."""
        if task is not None and side is not None:
            prefixes = [self.prefix(task, side)]
        else:
            prefixes = sorted({prefix_for(self.prefix_style, t, s) for t, s in _all_task_sides()}, key=len)
        extra = max(len(self.tokenize([p])[0]) - len(self.tokenize([""])[0]) for p in prefixes)
        return [min(n + extra, self.max_length) for n in map(len, self.tokenize(texts))]

    def embed(self, texts: Sequence[str], task: Task, side: Side, dim: int | None = None) -> Vectors:
        check_embed_request(task, side, dim, self._dim, self._model_id)
        if not texts:
            return np.zeros((0, dim or self._dim), dtype=np.float32)
        if self.model is None:
            raise EmbeddingError(f"the embedder for {self._model_id} is closed")
        prefix = self.prefix(task, side)
        ids = self.tokenize([prefix + text for text in texts])
        out = np.empty((len(ids), self._dim), dtype=np.float32)
        with torch.inference_mode(), self._precision_context():
            for batch in token_budget_batches([len(x) for x in ids], self.batch_tokens):
                out[batch] = self._forward([ids[i] for i in batch]).numpy()
        return truncate_dim(out, dim)

    def _precision_context(self) -> contextlib.AbstractContextManager[Any]:
        if self._autocast is None:
            return contextlib.nullcontext()
        return torch.autocast("cpu", dtype=self._autocast)

    def _forward(self, rows: list[list[int]]) -> torch.Tensor:
        """Pooled float32 vectors on the CPU for one padded batch."""
        width = max(map(len, rows))
        input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, seq in enumerate(rows):
            span = slice(width - len(seq), width) if self.padding_side == "left" else slice(0, len(seq))
            input_ids[r, span] = seq
            mask[r, span] = 1
        ids_t = torch.from_numpy(input_ids).to(self._device)
        mask_t = torch.from_numpy(mask).to(self._device)
        kwargs: dict[str, Any] = {"input_ids": ids_t, "attention_mask": mask_t}
        if self.is_decoder:
            # Positions count real tokens only, so left padding cannot shift them; no KV cache is needed.
            kwargs["position_ids"] = (mask_t.cumsum(dim=1) - 1).clamp(min=0)
            kwargs["use_cache"] = False
        hidden = self.model(**kwargs).last_hidden_state
        return pool(hidden, mask_t, self.pooling).cpu()

    def close(self) -> None:
        self.model = None
        gc.collect()
        if self._device.startswith("cuda"):
            torch.cuda.empty_cache()


def _quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantization of the Linear layers, weights per output channel (per-tensor scales
    cost MiniLM a mean cosine of 0.93 to its fp32 vectors, per-channel 0.98)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch.ao.quantization warns that it moves to torchao
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def _all_task_sides() -> list[tuple[Task, Side]]:
    return [(t, s) for t in TASKS for s in SIDES]


def _normalise_device(device: str) -> str:
    """``cuda`` → ``cuda:0`` (the current device), so ``device`` always names one place."""
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise EmbeddingError(f"device {device!r} was asked for but torch sees no CUDA GPU")
        return f"cuda:{dev.index if dev.index is not None else torch.cuda.current_device()}"
    if dev.type != "cpu":
        raise EmbeddingError(f"unsupported device {device!r}; expected cpu or cuda[:N]")
    return "cpu"
