"""``python -m harness.bench.fault_run [USERS] [FAULT]``: a fault run beside a clean one, JSON out.

Defaults: 100 users, fault ``shared-engine``, the default scenarios of ``harness run``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

__all__ = ["main"]


def main(arguments: list[str]) -> int:
    """Measure and print one JSON object: the ratio, the largest trace, the most groups."""
    from harness.bench._fault import fault_run

    users = int(arguments[0]) if arguments else 100
    fault = arguments[1] if len(arguments) > 1 else "shared-engine"
    measured = fault_run(users, fault=fault)
    print(
        json.dumps(
            {
                "ratio": measured.ratio,
                "largest_trace_bytes": measured.largest_trace_bytes,
                "most_groups": measured.most_groups,
                **asdict(measured),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
