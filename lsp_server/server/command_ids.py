"""The ``workspace/executeCommand`` names that codekin serves, in one place for server and clients."""

from __future__ import annotations

FIND_SIMILAR = "codekin.findSimilar"
FIND_DUPLICATES = "codekin.findDuplicates"
SEARCH_CODE = "codekin.searchCode"
LOOKUP_DOCS = "codekin.lookupDocs"
COMPLETION_SNIPPETS = "codekin.completionSnippets"
REINDEX = "codekin.reindex"
STATUS = "codekin.status"
COMPARE_SIMILAR = "codekin.compareSimilar"
SHOW_SIMILAR = "codekin.showSimilar"
"""The code lenses' command, with ``[uri, position, locations]``; clients usually handle it themselves."""
