"""``python -m harness.bench [--quick] [--json] [--only NAME --users N]``: ``harness bench``."""

from __future__ import annotations

import sys

from harness.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
