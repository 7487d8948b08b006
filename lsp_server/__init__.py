"""codekin: semantic code intelligence for editors, from code-embedding models."""

__version__ = "0.1.0"
