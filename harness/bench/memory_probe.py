"""``python -m harness.bench.memory_probe USERS [--tracemalloc]``: one size, one process, JSON.

Kept apart from ``harness.bench._memory`` so that running it does not import itself twice.
"""

from __future__ import annotations

import json
import sys

__all__ = ["main"]


def main(arguments: list[str]) -> int:
    """Measure one size in this process and print its JSON object."""
    from harness.bench._memory import measure_memory

    users = int(arguments[0])
    print(json.dumps(measure_memory(users, trace_allocations="--tracemalloc" in arguments)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
