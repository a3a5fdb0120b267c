"""``harness init`` and ``harness check-target``: start an adapter, then check it.

Registered by ``harness/cli.py`` through :func:`add_commands` and :data:`COMMANDS`, as the
bench commands are.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import UsageError
from harness.kit._skeleton import SKELETON, SKELETON_CLASS, SKELETON_MODULE

__all__ = ["COMMANDS", "add_commands", "command_check_target", "command_init", "skeleton_path"]


def add_commands(commands: Any) -> None:
    """Add the ``init`` and ``check-target`` sub-commands to an argparse sub-parser set.

    Args:
        commands: what ``ArgumentParser.add_subparsers()`` returned.
    """
    init = commands.add_parser("init", help="write an adapter skeleton for your backend")
    init.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=Path(),
        help=f"a directory (the file is {SKELETON_MODULE}.py there) or a .py file; default: here",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    check = commands.add_parser(
        "check-target", help="check an adapter against the Target contract, rule by rule"
    )
    check.add_argument("target", help="module:attr of your Target (class, instance or factory)")
    check.add_argument("--users", type=int, default=3, help="users taking one turn each (>= 2)")


def skeleton_path(path: Path) -> Path:
    """Where ``harness init PATH`` writes: PATH itself if it ends in .py, else a file in it.

    Example:
        >>> skeleton_path(Path("adapters")).name
        'isolation_target.py'
    """
    return path if path.suffix == ".py" else path / f"{SKELETON_MODULE}.py"


def command_init(args: argparse.Namespace) -> int:
    """``harness init [PATH] [--force]``: write the skeleton, print the next command.

    Raises:
        UsageError: the file exists and ``--force`` was not given.
    """
    target = skeleton_path(args.path)
    if target.exists() and not args.force:
        raise UsageError(
            f"path={str(target)!r} already exists: harness init does not overwrite it. "
            "Give another path, or --force to replace it."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    module = target.stem
    text = SKELETON if module == SKELETON_MODULE else SKELETON.replace(SKELETON_MODULE, module)
    target.write_text(text, encoding="utf-8")
    spec = f"{module}:{SKELETON_CLASS}"
    where = target.parent.resolve()
    move = "" if where == Path.cwd().resolve() else f"cd {shlex.quote(str(where))} && "
    print(f"wrote {target}: fill in the 6 places marked '# FILL IN (n/6)', then run:")
    print(f"  {move}harness check-target {spec}")
    return 0


def command_check_target(args: argparse.Namespace) -> int:
    """``harness check-target SPEC``: each contract rule, pass or fail with its fix.

    Returns 0 when every rule passes, 1 otherwise, 2 when the target cannot be loaded.
    """
    from rich.console import Console
    from rich.table import Table

    from harness.kit._conformance import check_target

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
