"""``python -m lsp_server``: the language server over stdio, as editors launch it."""

import sys

from lsp_server.server.main import main

sys.exit(main())
