"""Extraction of code symbols and documentation units from source files."""

from lsp_server.units.model import DocUnit, FileUnits, Symbol

__all__ = ["DocUnit", "FileUnits", "Symbol"]
