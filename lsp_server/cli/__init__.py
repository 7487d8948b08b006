"""The ``codekin`` command line: index a workspace and ask it questions from the shell."""

from lsp_server.cli.commands import add_commands, main

__all__ = ["add_commands", "main"]
