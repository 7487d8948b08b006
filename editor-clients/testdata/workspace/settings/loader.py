"""Reading the application's settings."""

from __future__ import annotations

import configparser
from pathlib import Path


def read_ini_settings(path: Path) -> dict[str, dict[str, str]]:
    """Load every section of an INI configuration file into nested dictionaries."""
    parser = configparser.ConfigParser()
    parser.read(path, encoding="utf-8")
    return {section: dict(parser[section]) for section in parser.sections()}


def merge_settings(base: dict[str, str], override: dict[str, str]) -> dict[str, str]:
    """Values from override win over those of base; keys of either are kept."""
    merged = dict(base)
    merged.update(override)
    return merged
