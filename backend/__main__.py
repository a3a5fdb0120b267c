"""``python -m backend``: the same as ``python -m backend.server``."""

from __future__ import annotations

import sys

from backend.server import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
