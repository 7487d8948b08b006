"""A small real workspace: several languages, a duplicate pair across two files, Markdown docs."""

from __future__ import annotations

from pathlib import Path

PY_UTILS = '''\
"""Helpers for reading configuration files."""

import json


def load_json_config(path):
    """Read a JSON configuration file and return its settings as a dict."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise ValueError("configuration must be an object")
    return data


def slugify(title):
    """Turn a title into a URL slug."""
    out = []
    for char in title.lower():
        if char.isalnum():
            out.append(char)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")


class Cache:
    """A tiny least-recently-used cache."""

    def __init__(self, size):
        self.size = size
        self.items = {}

    def get(self, key):
        value = self.items.pop(key, None)
        if value is not None:
            self.items[key] = value
        return value
'''

PY_COPY = '''\
import json


def read_settings(filename):
    """Load settings from a JSON file."""
    with open(filename, encoding="utf-8") as fh:
        settings = json.load(fh)
    if not isinstance(settings, dict):
        raise ValueError("settings must be an object")
    return settings


def fibonacci(n):
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
'''

JS_SOURCE = """\
// Compute the total price of the items in a cart, with tax.
function cartTotal(items, taxRate) {
  let total = 0;
  for (const item of items) {
    total += item.price * item.quantity;
  }
  return total * (1 + taxRate);
}

const debounce = (fn, wait) => {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), wait);
  };
};
"""

GO_SOURCE = """\
package geometry

// Area returns the area of a rectangle.
func Area(width, height float64) float64 {
\treturn width * height
}
"""

README = """\
# Sample project

## Configuration

Settings are read from a JSON configuration file; the top level must be an object.

## Caching

The cache keeps the most recently used items and drops the oldest one when it is full.
"""


def make_workspace(root: Path) -> Path:
    files = {
        "src/utils.py": PY_UTILS,
        "src/copy_of_utils.py": PY_COPY,
        "web/cart.js": JS_SOURCE,
        "go/area.go": GO_SOURCE,
        "README.md": README,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
