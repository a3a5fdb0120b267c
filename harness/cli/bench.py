"""``harness bench``: throughput, overheads, memory, search rates and race search, as a table.

The measurements live in the ``harness.bench`` package (``python -m harness.bench`` is the
same command); this module adds the sub-command and renders the figures, each with the command
that made it. ``--json`` prints exactly one JSON object (for scripts and CI dashboards) whose
headline keys ``turns_per_second``, ``detector_overhead`` and ``scheduler_overhead`` are plain
numbers.

Example:
    $ harness bench --quick
    $ harness bench --quick --json | jq .detector_overhead
    $ harness bench --only detector_overhead --users 1000
"""

from __future__ import annotations

import argparse
import importlib
import json
from dataclasses import asdict, is_dataclass
from typing import Any

from harness.errors import UsageError

__all__ = ["COMMANDS", "ONLY", "add_commands", "command_bench", "load_bench", "render"]

#: Benchmarks ``--only`` can run alone.
ONLY = (
    "throughput",
    "detector_overhead",
    "scheduler_overhead",
    "memory",
    "explore",
    "websocket",
    "race",
)


def add_commands(commands: Any) -> None:
    """Register ``bench`` on the ``harness`` sub-command parser."""
    parser = commands.add_parser("bench", help="measure throughput, overheads and memory")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes (100 and 1,000 users; < 2 minutes)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, no table")
    parser.add_argument("--only", default=None, help=f"run one benchmark: {', '.join(ONLY)}")
    parser.add_argument(
        "--users", default=None, help="users for --only (several sizes: comma-separated)"
    )


def load_bench() -> Any:
    """Import the ``bench`` package (installed with the harness; imported only when asked)."""
    return importlib.import_module("harness.bench")


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _only(bench: Any, name: str, users: str | None) -> Any:
    try:
        sizes = [int(part) for part in users.split(",")] if users else []
    except ValueError:
        sizes = [0]
    if any(size < 1 for size in sizes):
        raise UsageError(f"--users={users!r}: every size must be an integer >= 1")
    first = sizes[0] if sizes else 300
    runners = {
        "throughput": lambda: bench.throughput(sizes or [100, 1000]),
        "detector_overhead": lambda: bench.detector_overhead(first),
        "scheduler_overhead": lambda: bench.scheduler_overhead(first),
        "memory": lambda: bench.memory_per_user(sizes or [100, 1000], traced_sizes=sizes[:1]),
        "explore": lambda: bench.explore_rate(),
        "websocket": lambda: bench.websocket_throughput(sizes[0] if sizes else 200),
        "race": lambda: bench.race_search(),
    }
    return _plain(runners[name]())


def command_bench(args: argparse.Namespace) -> int:
    """``harness bench``: run the benchmarks and print the table (or one JSON object)."""
    from rich.console import Console

    bench = load_bench()
    if args.only is not None:
        if args.only not in ONLY:
            from harness.errors import did_you_mean

            raise UsageError(
                f"--only={args.only!r} is not one of {', '.join(ONLY)}."
                f"{did_you_mean(args.only, ONLY)}"
            )
        print(json.dumps(_only(bench, args.only, args.users), indent=2, default=str))
        return 0
    console = Console(stderr=True)  # progress on stderr: stdout stays one JSON object

    def progress(name: str) -> None:
        console.print(f"[dim]bench: {name}...[/dim]", highlight=False)

    report = bench.run_all(quick=args.quick, progress=progress)
    summary = report.summary()
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        render(summary, Console())
    return 0


def _bytes(value: float) -> str:
    return f"{value / 1024**2:,.1f} MiB" if value >= 1024**2 else f"{value / 1024:,.1f} KiB"


def render(summary: dict[str, Any], console: Any) -> None:
    """Print the figures of :meth:`bench.BenchReport.summary` as a rich table, then the goals."""
    from rich.table import Table

    details = summary["details"]
    table = Table(title="harness bench" + (" --quick" if summary["quick"] else ""))
    for column in ("figure", "value", "command"):
        table.add_column(column, overflow="fold")
    for timing in details["throughput"]:
        table.add_row(
            f"turns/s, {timing['users']:,} users, all detectors",
            f"{timing['turns_per_second']:,.0f} ({timing['turns']} turns, "
            f"{timing['wall_seconds']:.2f} s, {timing['walks']} walks)",
            timing["command"],
        )
    overhead = details["detector_overhead"]
    table.add_row(
        f"detector overhead, {overhead['users']} users (median of {overhead['repetitions']})",
        f"{summary['detector_overhead']:.2f}x "
        f"({overhead['medians']['detectors']:.2f} s / {overhead['medians']['none']:.2f} s)",
        overhead["command"],
    )
    scheduler = details["scheduler_overhead"]
    medians = scheduler["medians"]
    for name in ("random", "pct"):
        table.add_row(
            f"seeded loop ({name}) / stock asyncio, {scheduler['users']} users, CPU",
            f"{scheduler['ratios'][name]:.2f}x "
            f"({medians[name]:.2f} s / {medians['asyncio']:.2f} s)",
            scheduler["command"],
        )
    for point in details["memory"]:
        traced = point["tracemalloc_peak_bytes"]
        table.add_row(
            f"memory per user, {point['users']:,} users",
            f"{_bytes(point['rss_per_user'])} RSS (peak {_bytes(point['peak_rss_bytes'])})"
            + ("" if traced is None else f"; tracemalloc peak {_bytes(traced / point['users'])}"),
            point["command"],
        )
    table.add_row(
        "memory grows linearly",
        f"{'yes' if summary['memory_linear'] else 'no'} "
        "(bytes per extra user between sizes: "
        + ", ".join(_bytes(m) for m in details["memory_marginal_bytes_per_user"])
        + f"; last / first {details['memory_growth']:.2f}x)",
        "",
    )
    for rate in details["explore"]:
        table.add_row(
            f"explore schedules/s ({rate['strategy']}, {rate['users']} users)",
            f"{rate['per_second']:.1f} ({rate['tried']} in {rate['seconds']:.1f} s)",
            rate["command"],
        )
    socket = details["websocket"]
    if socket is not None:
        table.add_row(
            f"WebSocket loopback, {socket['users']} users",
            f"{socket['turns_per_second']:,.0f} turns/s, {socket['connections_held']} "
            f"connections held, {socket['completed']}/{socket['turns']} completed",
            socket["command"],
        )
    race = details["race"]
    for name, needed in race["needed"].items():
        mean = race["means"][name]
        shown = ", ".join("-" if count is None else str(count) for count in needed)
        text = (
            f"mean {mean:.1f} ({shown})"
            if mean is not None
            else (
                f"not found in {race['limit']} at {sum(c is None for c in needed)}/{len(needed)} "
                f"starts ({shown})"
            )
        )
        ratio = summary["race_search_ratios"].get(name)
        if ratio is not None:
            text += f"; {ratio:.2f}x pct"
        table.add_row(
            f"race search {race['fault']} on {race['scenario']}: schedules ({name})",
            text,
            race["command"],
        )
    console.print(table)
    goals = Table(title="goals")
    for column in ("goal", "limit", "value", "met", "how"):
        goals.add_column(column)
    for name, goal in summary["goals"].items():
        is_bytes = name.endswith("_bytes")
        show = _bytes if is_bytes else (lambda v: f"{v:.2f}")
        goals.add_row(
            goal["goal"],
            show(goal["limit"]),
            show(goal["value"]),
            "[green]met[/green]" if goal["met"] else "[red]missed[/red]",
            goal["how"],
        )
    console.print(goals)
    machine = summary["machine"]
    console.print(
        f"machine: {machine['nproc']} CPUs, {_bytes(machine['memory_bytes'] or 0)}, "
        f"Python {machine['python']} ({machine['platform']})",
        highlight=False,
    )


#: Sub-command name -> handler, merged into ``harness.cli``'s table.
COMMANDS = {"bench": command_bench}
