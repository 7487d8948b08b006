"""CPU inference backends for the embedded default, in one process on the same texts: torch fp32 (today's
path) against torch bf16 (autocast), torch int8 (dynamic, per channel), ONNX Runtime fp32 and ONNX
Runtime int8 (dynamic quantisation of the exported graph).

Every backend runs codekin's own pipeline (its tokenizer, prefixes, token-budget batches, padding and
pooling); only the transformer's forward pass differs, so the vectors differ only by the backend. The
ONNX graph is exported once from the installed weights (``torch.onnx.export``, dynamic batch and
sequence axes) and checked first at shapes it was not traced at: batch 1, 3 and 17, sequence 5 to 256
(a careless export bakes in the traced shape or mask and still runs). Rounds are interleaved (the order
rotates), the best of ``--repeats`` kept. Reported: real tokens per second, the ratio to torch fp32, and
the minimum and mean cosine of each text's vector to torch fp32's.

    HF_HUB_OFFLINE=1 python bench/cpu_backends.py [--n 400] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from embed_throughput import stdlib_functions  # noqa: E402

from lsp_server.embedding import load_embedder  # noqa: E402
from lsp_server.embedding.local import TransformersEmbedder, pool, token_budget_batches  # noqa: E402

Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(input_ids, attention_mask) → last hidden state, all numpy."""


class Encoder(torch.nn.Module):
    """The transformer with keyword inputs and its last hidden state as the one output."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def export_onnx(model: torch.nn.Module, folder: Path) -> Path:
    """The encoder as an ONNX graph with dynamic batch and sequence axes, traced at (2, 16)."""
    path = folder / "encoder.onnx"
    model = Encoder(model).eval()
    ids = torch.ones((2, 16), dtype=torch.int64)
    mask = torch.ones((2, 16), dtype=torch.int64)
    mask[1, 10:] = 0
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        model,
        (ids, mask),
        str(path),
        input_names=["input_ids", "attention_mask"],
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
        opset_version=17,
        dynamo=False,
    )
    return path


def quantize(path: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = path.with_name("encoder.int8.onnx")
    quantize_dynamic(str(path), str(out), weight_type=QuantType.QInt8, per_channel=True)
    return out


def ort_forward(path: Path, threads: int) -> Forward:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(session.run(None, {"input_ids": ids, "attention_mask": mask})[0])

    return forward


def torch_forward(embedder: TransformersEmbedder) -> Forward:
    def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), embedder._precision_context():
            hidden = embedder.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask))
            return hidden.last_hidden_state.float().numpy()

    return forward


def embed_with(embedder: TransformersEmbedder, forward: Forward, texts: list[str]) -> np.ndarray:
    """codekin's ``embed`` (code2code passages) with the forward pass swapped."""
    prefix = embedder.prefix("code2code", "passage")
    rows = embedder.tokenize([prefix + text for text in texts])
    out = np.empty((len(rows), embedder.dim), dtype=np.float32)
    for batch in token_budget_batches([len(r) for r in rows], embedder.batch_tokens):
        width = max(len(rows[i]) for i in batch)
        ids = np.full((len(batch), width), embedder.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for r, i in enumerate(batch):
            ids[r, : len(rows[i])], mask[r, : len(rows[i])] = rows[i], 1
        hidden = torch.from_numpy(forward(ids, mask))
        out[batch] = pool(hidden, torch.from_numpy(mask), embedder.pooling).numpy()
    return out


def check_shapes(reference: Forward, exported: Forward) -> float:
    """The largest difference of the exported graph from torch at shapes it was not traced at."""
    rng = np.random.default_rng(0)
    worst = 0.0
    for batch, width in ((1, 5), (3, 77), (17, 256), (4, 9)):
        ids = rng.integers(1000, 20000, size=(batch, width), dtype=np.int64)
        mask = np.ones((batch, width), dtype=np.int64)
        for row in range(1, batch):
            mask[row, rng.integers(1, width) :] = 0
        a, b = reference(ids, mask), exported(ids, mask)
        keep = mask.astype(bool)
        worst = max(worst, float(np.abs(a[keep] - b[keep]).max()))
    return worst


def cosines(vectors: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    sims = np.sum(vectors * reference, axis=1) / (
        np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    )
    return float(sims.min()), float(sims.mean())


def run(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    texts = stdlib_functions(args.n)
    base = load_embedder("minilm", "cpu", precision="fp32")
    assert isinstance(base, TransformersEmbedder)
    tokens = sum(len(r) for r in base.tokenize(texts))
    systems: dict[str, Forward] = {"torch fp32": torch_forward(base)}
    for precision in ("bf16", "int8"):
        other = load_embedder("minilm", "cpu", precision=precision)
        assert isinstance(other, TransformersEmbedder)
        systems[f"torch {precision}"] = torch_forward(other)
    scratch = Path(tempfile.mkdtemp(prefix="codekin-onnx-"))
    fp32_graph = export_onnx(base.model, scratch)
    systems["onnxruntime fp32"] = ort_forward(fp32_graph, args.threads)
    systems["onnxruntime int8"] = ort_forward(quantize(fp32_graph), args.threads)
    shape_error = check_shapes(systems["torch fp32"], systems["onnxruntime fp32"])
    best: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}
    names = list(systems)
    for round_ in range(args.repeats):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            started = time.perf_counter()
            vectors[name] = embed_with(base, systems[name], texts)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - started)
    rows = []
    for name in names:
        low, mean = cosines(vectors[name], vectors["torch fp32"])
        rate = tokens / best[name]
        rows.append({"backend": name, "tokens_per_s": round(rate), "min_cosine": low, "mean_cosine": mean})
    reference = rows[0]["tokens_per_s"]
    for row in rows:
        row["ratio"] = round(row["tokens_per_s"] / reference, 2)
    return {
        "texts": len(texts),
        "tokens": tokens,
        "threads": args.threads,
        "onnx_shape_max_abs_diff": shape_error,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "cpu_backends.json")
    args = parser.parse_args()
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(
        f"{result['texts']} stdlib functions, {result['tokens']} tokens, {result['threads']} threads; "
        f"ONNX graph vs torch at untraced shapes: max |diff| {result['onnx_shape_max_abs_diff']:.2e}"
    )
    print("| backend | tokens/s | ÷ torch fp32 | min cosine | mean cosine |\n|---|---|---|---|---|")
    for row in result["rows"]:
        print(
            f"| {row['backend']} | {row['tokens_per_s']} | {row['ratio']:.2f}× | {row['min_cosine']:.6f} | "
            f"{row['mean_cosine']:.6f} |"
        )


if __name__ == "__main__":
    main()
