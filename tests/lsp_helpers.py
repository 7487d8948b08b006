"""Driving the real server process over stdio with pytest-lsp: start-up, waiting, raw requests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "lsp_server"],
    server_env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
)
CLIENTS = {"vscode": "visual-studio-code", "neovim": "neovim@v0.11"}


def uri(path: Path) -> str:
    return path.resolve().as_uri()


async def initialize(
    client: LanguageClient,
    folders: list[Path],
    options: dict[str, Any],
    editor: str = "vscode",
    configuration: dict[str, Any] | None = None,
) -> None:
    """initialize + initialized, with one editor's real capabilities and codekin's options."""
    refreshes: list[float] = []

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def code_lens_refresh(params: None) -> None:
        refreshes.append(time.monotonic())

    client.code_lens_refreshes = refreshes  # type: ignore[attr-defined]
    if configuration is not None:
        client.set_configuration(configuration, section="codekin")
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities(CLIENTS[editor]),
            root_uri=uri(folders[0]),
            workspace_folders=[types.WorkspaceFolder(uri=uri(f), name=f.name) for f in folders],
            initialization_options=options,
        )
    )
    client.position_encoding = result.capabilities.position_encoding  # type: ignore[attr-defined]


async def command(client: LanguageClient, name: str, *arguments: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(arguments))
    )


async def wait_until(check: Callable[[], Any], timeout: float = 120.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


async def wait_indexed(client: LanguageClient, timeout: float = 180.0) -> dict[str, Any]:
    """Wait until no folder is indexing and each has been indexed once; returns the status."""

    async def done() -> dict[str, Any] | None:
        status = await command(client, "codekin.status")
        folders = status["folders"]
        ready = folders and all(f.get("lastUpdate") for f in folders) and not status["indexing"]
        return status if ready else None

    return await wait_until(done, timeout, "indexing to finish")  # type: ignore[no-any-return]


def progress_kinds(client: LanguageClient) -> dict[str, list[str]]:
    """For each progress token: the kinds of the values received (begin, report, end) in order."""
    return {str(token): [value.kind for value in values] for token, values in client.progress_reports.items()}


def open_document(client: LanguageClient, path: Path, text: str, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri(path), language_id=language, version=1, text=text)
        )
    )


def replace_document(client: LanguageClient, path: Path, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri(path), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def line_of(text: str, needle: str) -> int:
    """0-based line of the first line containing ``needle``."""
    return next(number for number, line in enumerate(text.splitlines()) if needle in line)


async def raw_request(client: LanguageClient, method: str, params: Any) -> Any:
    """Send a request exactly as given, bypassing the client's typed serialisation (for bad params)."""
    msg_id = f"raw-{uuid.uuid4().hex}"
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    client.protocol._request_futures[msg_id] = future
    write_raw(client, json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}))
    return await asyncio.wrap_future(future)


def write_raw(client: LanguageClient, body: str) -> None:
    """One framed message with any body at all, even one that is not JSON."""
    data = body.encode("utf-8")
    writer = client.protocol.writer
    assert writer is not None
    writer.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
