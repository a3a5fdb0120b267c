"""What the ``harness`` sub-commands share: defaults, exit codes, option groups and checks.

Every command module (``run``, ``report``, ``explore``, ``replay``, ``shrink``, ``bench``)
exposes ``add_commands(commands)`` and ``COMMANDS``; the options several of them take are
declared here once, so ``--strategy`` means the same thing everywhere.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from harness.errors import UsageError, did_you_mean
from harness.scheduling import STRATEGY_NAMES

__all__ = [
    "DEFAULT_HEARTBEAT",
    "DEFAULT_REPORT",
    "DEFAULT_STRATEGY",
    "DEFAULT_USERS",
    "EXIT_CLEAN",
    "EXIT_CODES_HELP",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "EXIT_HARNESS_FAILED",
    "STRATEGIES",
    "add_bound_options",
    "add_target_options",
    "check_strategy",
    "check_users",
    "parse_seeds",
    "prepare_report_dir",
    "scenario_names",
    "seconds",
]

DEFAULT_USERS = 100
DEFAULT_STRATEGY = "random"
DEFAULT_REPORT = Path("reports") / "latest"
#: Seconds between heartbeat lines of a run whose stderr is not a terminal.
DEFAULT_HEARTBEAT = 30.0
#: The strategies a command accepts: the seeded loop's, one definition for every face.
STRATEGIES = STRATEGY_NAMES

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
#: The harness itself failed (a bug in the harness, not a finding nor a target error).
EXIT_HARNESS_FAILED = 3
#: Printed by every ``--help`` that runs a target.
EXIT_CODES_HELP = (
    "Exit codes: 0 no findings, 1 findings (leaks; hazards too with --strict), 2 usage or "
    "target error (the finished runs are "
    "written first), 3 the harness itself failed (the traceback is written to a file)."
)


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


def seconds(text: str) -> float:
    """argparse type: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds > 0, e.g. 30")
    return value


def add_bound_options(parser: argparse.ArgumentParser) -> None:
    """``--turn-timeout``, ``--call-timeout``, ``--block-limit``, ``--connect-rate``,
    ``--heartbeat``: how long the harness waits for a target (docs/reliability.md)."""
    from harness.runner import DEFAULT_BLOCK_LIMIT, DEFAULT_CALL_TIMEOUT, DEFAULT_CONNECT_RATE

    group = parser.add_argument_group("bounds (docs/reliability.md)")
    group.add_argument(
        "--turn-timeout",
        type=seconds,
        default=None,
        help="seconds a turn may take before it is a hang finding (default: the scenario's, 30)",
    )
    group.add_argument(
        "--call-timeout",
        type=seconds,
        default=DEFAULT_CALL_TIMEOUT,
        help="seconds start, stop, open_session, close and the sync adapter calls may take "
        f"(default {DEFAULT_CALL_TIMEOUT:g})",
    )
    group.add_argument(
        "--block-limit",
        type=seconds,
        default=DEFAULT_BLOCK_LIMIT,
        help="real seconds one adapter step may block the event loop before it is reported "
        f"as loop lag (default {DEFAULT_BLOCK_LIMIT:g})",
    )
    group.add_argument(
        "--connect-rate",
        type=seconds,
        default=DEFAULT_CONNECT_RATE,
        help="remote targets: sessions opened per second at most, like a load tool's spawn rate "
        f"(default {DEFAULT_CONNECT_RATE:g})",
    )
    group.add_argument(
        "--heartbeat",
        type=seconds,
        default=DEFAULT_HEARTBEAT,
        help="seconds between progress lines when stderr is not a terminal "
        f"(default {DEFAULT_HEARTBEAT:g})",
    )
