"""``codekin.status``: where the model runs, why it was chosen, and each folder's index state."""

from __future__ import annotations

import datetime
from typing import Any

from lsp_server.embedding.status import model_status
from lsp_server.server import command_ids
from lsp_server.server.core import CodekinServer
from lsp_server.server.folders import Folder


def model_report(ls: CodekinServer) -> dict[str, Any]:
    if ls.embedder is None:
        return {"model": None, "reason": ls.embedder_problem, "device": None}
    status = model_status(ls.embedder)
    reason = "loading" if status.loading else status.reason
    return {"model": status.model_id, "reason": reason or ls.embedder_problem, "device": status.device}


def folder_report(folder: Folder, with_pending: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"uri": folder.uri, "indexing": folder.indexing, "error": folder.error}
    index = folder.index
    if index is not None:
        state = index.status(folder.settings.spaces, with_pending=with_pending)
        entry.update(
            files=state.files,
            units=state.units,
            lastUpdate=_iso(folder.last_update),
            indexPath=str(index.index_dir),
        )
        if state.pending is not None:  # pending is per model: known once the model is
            entry["pending"] = state.pending
    return entry


def status_report(ls: CodekinServer) -> dict[str, Any]:
    """The model, the worker setting, totals over the folders, and each folder's own entry."""
    model = model_report(ls)
    folders = [folder_report(folder, model["model"] is not None) for folder in ls.folders]
    return {
        **model,
        "worker": ls.options.worker,
        "problem": ls.embedder_problem,
        "files": sum(entry.get("files", 0) for entry in folders),
        "units": sum(entry.get("units", 0) for entry in folders),
        "pending": sum(entry.get("pending", 0) for entry in folders),
        "indexing": ls.reconfiguring or any(folder.indexing for folder in ls.folders),
        "lastUpdate": max((e["lastUpdate"] for e in folders if e.get("lastUpdate")), default=None),
        "indexPath": folders[0].get("indexPath") if folders else None,
        "folders": folders,
    }


async def status(ls: CodekinServer, *arguments: Any) -> dict[str, Any]:
    return await ls.in_query_thread(status_report, ls)


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat(timespec="seconds")


def register(server: CodekinServer) -> None:
    server.command(command_ids.STATUS)(status)
