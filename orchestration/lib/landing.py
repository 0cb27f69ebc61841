"""Watching the landing directory: when new or changed files have settled, a refresh is due.

The landing sensor (defs/automation/jobs.py) lists the files (path, size, modification time) on every evaluation
and keeps two fingerprints of that listing in its cursor: the one it saw last time and the one it last started a
refresh for. A refresh is requested when the listing differs from the last refreshed one and is the same as on
the previous evaluation: files still being copied change between evaluations and wait. The run key is the
listing's fingerprint, so one set of files starts one run however often the sensor is evaluated.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")  # files still being written by the usual copy tools


def listing(landing: str | Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, modification time in ns) of every landing file (hidden and partial files left out)."""
    root = Path(landing)
    if not root.is_dir():
        return {}
    files: dict[str, tuple[int, int]] = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or path.name.endswith(IGNORED_SUFFIXES):
            continue
        if path.is_file():
            stat = path.stat()
            files[relative.as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return files


def fingerprint(files: dict[str, tuple[int, int]]) -> str:
    return hashlib.sha256(json.dumps(sorted(files.items())).encode()).hexdigest()


@dataclass(frozen=True)
class Decision:
    cursor: str
    run_key: str | None  # None: no refresh now
    reason: str
    files: int


@dataclass(frozen=True)
class LandingWatch:
    seen: str | None = None  # the listing of the previous evaluation
    requested: str | None = None  # the listing the last requested refresh was for

    @classmethod
    def from_cursor(cls, cursor: str | None) -> LandingWatch:
        if not cursor:
            return cls()
        state = json.loads(cursor)
        return cls(seen=state.get("seen"), requested=state.get("requested"))

    def cursor(self) -> str:
        return json.dumps({"seen": self.seen, "requested": self.requested})

    def observe(self, files: dict[str, tuple[int, int]]) -> Decision:
        if not files:
            return Decision(self.cursor(), None, "No landing files yet.", 0)
        current = fingerprint(files)
        if current == self.requested:
            return Decision(LandingWatch(current, self.requested).cursor(), None,
                            "No new or changed landing files since the last refresh this sensor started.", len(files))
        if current != self.seen:
            return Decision(LandingWatch(current, self.requested).cursor(), None,
                            "Landing files changed since the last evaluation; waiting one more for them to settle.",
                            len(files))
        return Decision(LandingWatch(current, current).cursor(), current[:16],
                        f"{len(files)} landing files, new or changed, have settled.", len(files))
