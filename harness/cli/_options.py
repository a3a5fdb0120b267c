"""What the ``harness`` sub-commands share: defaults, exit codes, option groups and checks.

Every command module (``run``, ``report``, ``explore``, ``replay``, ``shrink``, ``bench``)
exposes ``add_commands(commands)`` and ``COMMANDS``; the options several of them take are
declared here once, so ``--strategy`` means the same thing everywhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.errors import UsageError, did_you_mean
from harness.scheduling import STRATEGY_NAMES

__all__ = [
    "DEFAULT_REPORT",
    "DEFAULT_STRATEGY",
    "DEFAULT_USERS",
    "EXIT_CLEAN",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "STRATEGIES",
    "add_target_options",
    "check_strategy",
    "check_users",
    "parse_seeds",
    "prepare_report_dir",
    "scenario_names",
]

DEFAULT_USERS = 100
DEFAULT_STRATEGY = "random"
DEFAULT_REPORT = Path("reports") / "latest"
#: The strategies a command accepts: the seeded loop's, one definition for every face.
STRATEGIES = STRATEGY_NAMES

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def parse_seeds(seed: int | None, seeds: str | None) -> list[int]:
    """``--seed N`` or ``--seeds A..B`` (inclusive) as a list of seeds.

    Raises:
        UsageError: both given, a negative seed, or a range that is not ``A..B`` with integers
            ``0 <= A <= B``.
    """
    if seed is not None and seeds is not None:
        raise UsageError("--seed and --seeds were both given; use one (--seeds 0..19 for a range)")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed={seed!r} must be an integer >= 0, e.g. --seed 7")
    if seeds is None:
        return [0 if seed is None else seed]
    start, sep, end = seeds.partition("..")
    try:
        low, high = int(start), int(end)
    except ValueError:
        low = high = -1
    if not sep or low < 0 or high < low:
        raise UsageError(
            f"--seeds={seeds!r} is not a range A..B of integers with 0 <= A <= B; "
            "e.g. --seeds 0..19"
        )
    return list(range(low, high + 1))


def scenario_names(value: str | None) -> list[str]:
    """``--scenario``: the default set, ``all``, or comma-separated known names.

    Raises:
        UsageError: no name given.
        UnknownScenarioError: a name that is not registered (the message lists them).
    """
    from harness.scenarios import DEFAULT_SCENARIOS, get_generator
    from harness.scenarios import scenario_names as known

    if value is None:
        return list(DEFAULT_SCENARIOS)
    if value == "all":
        return list(known())
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise UsageError(
            f"--scenario={value!r} names no scenario. Give one or more names separated by "
            f"commas, or all. Known scenarios: {', '.join(known())}."
        )
    for name in names:
        get_generator(name)  # raises UnknownScenarioError with the known names
    return names


def add_target_options(
    parser: argparse.ArgumentParser, *, users: int, strategy: str, report: Path
) -> None:
    """``--target``, ``--scenario``, ``--users``, ``--strategy``, ``--fault``, ``--report``."""
    from harness.scenarios import DEFAULT_SCENARIOS
    from harness.scenarios import scenario_names as known
    from harness_backend.faults import FAULTS

    parser.add_argument(
        "--target",
        default="reference",
        help="reference (default), ws://... or module:attr (an instance, class or factory)",
    )
    parser.add_argument(
        "--scenario",
        default=None,
        help=f"one of {', '.join(known())}; several separated by commas; or all "
        f"(default: {', '.join(DEFAULT_SCENARIOS)})",
    )
    parser.add_argument(
        "--users", type=int, default=users, help=f"simulated users (default {users})"
    )
    parser.add_argument(
        "--strategy",
        default=strategy,
        help=f"scheduling strategy: {', '.join(STRATEGIES)} (default {strategy})",
    )
    parser.add_argument(
        "--fault",
        default=None,
        help=f"an option of the reference target: switch on a fault ({', '.join(FAULTS)})",
    )
    parser.add_argument(
        "--report", type=Path, default=report, help=f"report directory (default {report})"
    )


def check_strategy(strategy: str) -> None:
    """Raises UsageError for a strategy the seeded loop does not have."""
    if strategy not in STRATEGIES:
        raise UsageError(
            f"--strategy={strategy!r} is not one of {', '.join(STRATEGIES)}."
            f"{did_you_mean(strategy, STRATEGIES)}"
        )


def check_users(users: int) -> None:
    """Raises UsageError for fewer than one user."""
    if users < 1:
        raise UsageError(f"--users={users!r} must be at least 1 (isolation needs >= 2 users)")


def prepare_report_dir(directory: Path) -> None:
    """Create the report directory before any run, so an unusable one fails fast (exit 2)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"--report={str(directory)!r} cannot be used as a report directory "
            f"({exc.strerror or exc}). Pass a directory that can be created and written, "
            "e.g. --report reports/mine."
        ) from exc
