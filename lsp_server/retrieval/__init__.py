"""The questions codekin answers, as pure functions over a WorkspaceIndex."""
