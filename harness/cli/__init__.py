"""The ``harness`` command line: run, explore, replay, shrink, report, audit, bench, init and
check-target.

Each command lives in its own module with ``add_commands(commands)`` and ``COMMANDS``; the
options several commands share are declared once in :mod:`harness.cli._options`. ``harness run``
exit codes: 0 no findings, 1 findings, 2 usage or target error, 3 the harness itself failed (an
uncaught exception: the traceback goes to a file named in the message, never exit 1).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence

from harness.cli._options import EXIT_ERROR, EXIT_HARNESS_FAILED, parse_seeds
from harness.errors import HarnessError

__all__ = ["main", "parse_seeds"]

#: The command modules, in the order ``harness --help`` lists them.
COMMAND_MODULES = ("run", "explore", "replay", "shrink", "report", "audit", "bench", "kit")

Handler = Callable[[argparse.Namespace], int]


def _apply_config(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``[tool.harness]`` and ``HARNESS_*`` become the defaults of ``harness run``."""
    from harness.cli._config import load_config

    commands.choices["run"].set_defaults(**load_config())


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    from harness import __version__

    parser = argparse.ArgumentParser(
        prog="harness", description="Prove that a multi-tenant agent backend keeps its users apart."
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"harness.cli.{name}")
        module.add_commands(commands)
        handlers.update(module.COMMANDS)
    _apply_config(commands)
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script; returns the exit code.

    With no command, or options but no command, it runs ``harness run``.
    """
    try:
        parser, handlers = _build_parser()
    except HarnessError as exc:  # an unusable [tool.harness] or HARNESS_* value
        print(f"harness: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0].startswith("-") and words[0] not in ("-h", "--help", "--version"):
        words.insert(0, "run")  # `harness --users 10` is `harness run --users 10`
    args = parser.parse_args(words)
    if args.command is None:
        args = parser.parse_args(["run"])
    try:
        return handlers[args.command](args)
    except HarnessError as exc:
        print(f"harness {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"harness {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _harness_failed(args.command, exc)


def _harness_failed(command: str, exc: Exception) -> int:
    """An exception nobody expected: the harness's own failure, exit 3 (never 1, "findings")."""
    text = "".join(traceback.format_exception(exc))
    handle, name = tempfile.mkstemp(prefix="harness-failure-", suffix=".txt")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    print(
        f"harness {command}: the harness itself failed (exit {EXIT_HARNESS_FAILED}): "
        f"{type(exc).__name__}: {exc}\n"
        f"harness {command}: traceback written to {name}; please report it with that file.",
        file=sys.stderr,
    )
    return EXIT_HARNESS_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
