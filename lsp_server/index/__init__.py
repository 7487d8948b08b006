"""The store (SQLite, the truth), the derived ANN spaces and the incremental indexer."""
