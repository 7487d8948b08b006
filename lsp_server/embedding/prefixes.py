"""The instruction prefixes each model family expects in front of a task's inputs.

They are part of what a model's vectors mean: a query embedded with another prefix lands elsewhere,
so the tables must stay exactly as the model cards publish them.
"""

from __future__ import annotations

from typing import Literal

from .base import Side, Task

PrefixStyle = Literal["jina", "qwen3", "none"]
PREFIX_STYLES: tuple[PrefixStyle, ...] = ("jina", "qwen3", "none")

# The published instruction prefixes of jina-code-embeddings; they must stay exact.
JINA_PREFIXES: dict[Task, dict[Side, str]] = {
    "nl2code": {
        "query": "Find the most relevant code snippet given the following query:\n",
        "passage": "Candidate code snippet:\n",
    },
    "qa": {
        "query": "Find the most relevant answer given the following question:\n",
        "passage": "Candidate answer:\n",
    },
    "code2code": {
        "query": "Find an equivalent code snippet given the following code snippet:\n",
        "passage": "Candidate code snippet:\n",
    },
    "code2nl": {
        "query": "Find the most relevant comment given the following code snippet:\n",
        "passage": "Candidate comment:\n",
    },
    "code2completion": {
        "query": "Find the most relevant completion given the following start of code snippet:\n",
        "passage": "Candidate completion:\n",
    },
}

# Qwen3-Embedding instructs queries only: "Instruct: {task}\nQuery:{text}"; passages go bare.
QWEN3_TASK_DESCRIPTIONS: dict[Task, str] = {
    "nl2code": "Given a natural-language query, retrieve the code snippets that answer it",
    "qa": "Given a technical question, retrieve the answers that address it",
    "code2code": "Given a code snippet, retrieve code snippets that are equivalent to it",
    "code2nl": "Given a code snippet, retrieve the comment or documentation that describes it",
    "code2completion": "Given the start of a code snippet, retrieve the code that completes it",
}


def prefix_for(style: PrefixStyle, task: Task, side: Side) -> str:
    """The exact text a model of this prefix style expects in front of a ``task``/``side`` input."""
    if style == "jina":
        return JINA_PREFIXES[task][side]
    if style == "qwen3":
        # Qwen3-Embedding instructs queries only; there is no space after "Query:".
        return f"Instruct: {QWEN3_TASK_DESCRIPTIONS[task]}\nQuery:" if side == "query" else ""
    return ""
