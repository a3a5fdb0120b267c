"""The ``harness`` command line: run, explore, replay, shrink, report, audit, bench, init and
check-target.

Each command lives in its own module with ``add_commands(commands)`` and ``COMMANDS``; the
options several commands share are declared once in :mod:`harness.cli._options`. ``harness run``
exit codes: 0 no findings, 1 findings, 2 usage or target error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from harness.cli._options import EXIT_ERROR, parse_seeds
from harness.errors import HarnessError

__all__ = ["main", "parse_seeds"]

#: The command modules, in the order ``harness --help`` lists them.
COMMAND_MODULES = ("run", "explore", "replay", "shrink", "report", "audit", "bench", "kit")

Handler = Callable[[argparse.Namespace], int]


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
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script; returns the exit code.

    With no command, or options but no command, it runs ``harness run``.
    """
    parser, handlers = _build_parser()
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
