"""``python -m lsp_server.worker``: serve an embedding model to codekin clients over TCP."""

import sys

from lsp_server.worker.cli import main

sys.exit(main())
