"""An example locustfile: every Locust user is one simulated user of a harness scenario.

Run it (docs/distributed.md has the details)::

    export HARNESS_JWT_SECRET=...              # or HARNESS_TOKENS_FILE=tokens.json
    locust -f harness/distributed/locustfile.py --master --headless \\
        --host ws://127.0.0.1:8765/ws -u 200 -r 50 -t 60s --expect-workers 2 \\
        --harness-scenario golden_path --harness-seed 0 --harness-report reports/locust
    locust -f harness/distributed/locustfile.py --worker   # once per worker, on any machine

The master writes ``findings.json`` and ``report.html`` and exits 1 on findings.
"""

from __future__ import annotations

from harness.distributed import HarnessUser


class StagingUser(HarnessUser):
    """One simulated user of ``--harness-scenario`` against ``--host``."""
