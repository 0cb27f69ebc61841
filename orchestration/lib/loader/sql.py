"""SQL text helpers shared by the loader's modules, and the one error a user can cause."""

from __future__ import annotations

import re


class LandingError(Exception):
    """A problem with the landing data that the user can fix; the message is one sentence."""


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_reason(error: Exception) -> str:
    """DuckDB's first line, without its error class (`Invalid Input Error: `) and final stop, to end a sentence."""
    line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    line = re.sub(r"^[A-Z][A-Za-z ]* Error: ", "", line)
    return line.rstrip(". ")


def column_list(names: list[str] | tuple[str, ...], prefix: str = "") -> str:
    return ", ".join(f"{prefix}{quote(name)}" for name in names)
