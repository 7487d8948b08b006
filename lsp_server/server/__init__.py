"""The codekin language server: pygls handlers over the engine, one module per LSP feature."""
