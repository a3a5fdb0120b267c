"""``harness init`` and ``harness check-target``: start an adapter on the kit, then check it.

``harness init [PATH] [--force]`` writes the commented adapter skeleton
(:func:`harness.kit.write_skeleton`) and prints the next command; ``harness check-target
module:attr`` runs the conformance pass (:func:`harness.kit.check_target`) and prints each
contract rule as pass or FAIL with its fix. Exit codes of check-target: 0 every rule passes,
1 a rule fails, 2 the target cannot be loaded.

Example:
    $ harness init && harness check-target isolation_target:BackendTarget
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import UsageError

__all__ = ["COMMANDS", "add_commands", "command_check_target", "command_init"]


def add_commands(commands: Any) -> None:
    """Register ``init`` and ``check-target`` on the ``harness`` sub-command parser."""
    init = commands.add_parser("init", help="write an adapter skeleton for your backend")
    init.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=Path(),
        help="a directory (the file is isolation_target.py there) or a .py file; default: here",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    check = commands.add_parser(
        "check-target", help="check an adapter against the Target contract, rule by rule"
    )
    check.add_argument("target", help="module:attr of your Target (class, instance or factory)")
    check.add_argument("--users", type=int, default=3, help="users taking one turn each (>= 2)")


def command_init(args: argparse.Namespace) -> int:
    """``harness init [PATH] [--force]``: write the skeleton, print the next command."""
    from harness.kit import write_skeleton

    written = write_skeleton(args.path, force=args.force)
    where = written.path.parent.resolve()
    move = "" if where == Path.cwd().resolve() else f"cd {shlex.quote(str(where))} && "
    print(f"wrote {written.path}: fill in the 6 places marked '# FILL IN (n/6)', then run:")
    print(f"  {move}harness check-target {written.spec}")
    return 0


def command_check_target(args: argparse.Namespace) -> int:
    """``harness check-target SPEC``: each contract rule, pass or fail with its fix."""
    from rich.console import Console
    from rich.table import Table

    from harness.kit import check_target

    if args.users < 2:
        raise UsageError(f"--users={args.users!r}: expected an int >= 2 (one intrudes on another).")
    console = Console()
    results = check_target(args.target, users=args.users)  # TargetLoadError: exit 2
    table = Table(title=f"harness check-target {args.target}", show_lines=True)
    table.add_column("rule")
    table.add_column("result")
    table.add_column("seen / fix")
    for result in results:
        mark = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
        text = result.detail if result.passed else f"{result.detail}\nfix: {result.fix}"
        table.add_row(result.rule, mark, text)
    console.print(table)
    failed = [r.rule for r in results if not r.passed]
    if failed:
        console.print(f"{len(failed)} rule(s) failed: {', '.join(failed)}", highlight=False)
        return 1
    console.print(
        f"every rule passes. Next: harness run --target {args.target} --scenario all --users 6",
        highlight=False,
    )
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": command_init,
    "check-target": command_check_target,
}
