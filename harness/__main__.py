"""``python -m harness``: the ``harness`` command, for environments without the console script."""

import sys

from harness.cli import main

sys.exit(main())
