"""`expansion` with one guarantee switched off, in its own process only: the kill harness's negative proof.

    python -m tests.support.sabotaged_run no-write-ahead run --raw ... --warehouse ...

`no-write-ahead`: the ledger's `mark_pending` does nothing, so a batch leaves without the ledger knowing. The
project has no switch for this and gets none: the change lives in this process, made before the command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any


def no_write_ahead() -> None:
    from orchestration.lib.sync import ledger

    def mark_nothing(*args: Any, **kwargs: Any) -> None:
        return None

    ledger.mark_pending = mark_nothing  # delivery calls ledger.mark_pending(...) before each batch leaves


SABOTAGES: dict[str, Callable[[], None]] = {"no-write-ahead": no_write_ahead}


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in SABOTAGES:
        print(f"usage: python -m tests.support.sabotaged_run {{{','.join(SABOTAGES)}}} EXPANSION-ARGS...",
              file=sys.stderr)
        return 2
    SABOTAGES[argv[0]]()
    from orchestration.run import cli

    return cli.main(list(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
