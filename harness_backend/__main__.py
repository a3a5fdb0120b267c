"""Command line of the WebSocket server: ``python -m harness_backend.server``.

Prints ``listening on ws://HOST:PORT`` once ready (``--port 0`` picks a free port and prints the
real one), serves until SIGINT or SIGTERM, then closes every connection with 1001 and exits 0.
Exits 2 without a JWT secret (``--jwt-secret`` or ``BACKEND_JWT_SECRET``) or when the server
cannot start (unknown fault, bad limit, address in use).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from harness_backend.auth import SECRET_ENV, TokenPolicy
from harness_backend.errors import BackendError
from harness_backend.protocol import PlanLimits
from harness_backend.server import ServerLimits, serve

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    defaults = ServerLimits()
    parser = argparse.ArgumentParser(
        prog="python -m harness_backend.server",
        description="Serve the reference backend over WebSockets until SIGINT or SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="switch a fault on (repeatable); see harness_backend.faults.FAULTS",
    )
    parser.add_argument("--max-engines-per-user", type=int, default=2, metavar="N")
    parser.add_argument("--jwt-secret", default=None, help=f"HS256 secret (default: ${SECRET_ENV})")
    for name, kind, unit in _LIMIT_OPTIONS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=kind,
            default=getattr(defaults, name),
            help=f"{unit} (default {getattr(defaults, name)}); see docs/reliability.md",
        )
    plan = defaults.plan
    parser.add_argument(
        "--max-delay",
        type=float,
        default=plan.max_delay,
        help=f"longest tool params.delay, seconds (default {plan.max_delay})",
    )
    parser.add_argument(
        "--max-pause",
        type=float,
        default=plan.max_pause,
        help=f"longest pause step, seconds (default {plan.max_pause})",
    )
    policy = TokenPolicy()
    parser.add_argument(
        "--token-leeway",
        type=float,
        default=policy.leeway,
        help=f"seconds nbf/iat may lie in the future (default {policy.leeway:g})",
    )
    parser.add_argument(
        "--token-max-lifetime",
        type=float,
        default=policy.max_lifetime,
        help=f"longest accepted exp - iat, seconds (default {policy.max_lifetime:g})",
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    return parser


#: ServerLimits fields settable from the command line: (field, type, what it counts).
_LIMIT_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("max_size", int, "largest frame, bytes"),
    ("rate", float, "frames/s per connection"),
    ("burst", float, "frames at once per connection"),
    ("user_rate", float, "frames/s per user"),
    ("user_burst", float, "frames at once per user"),
    ("flood_tolerance", float, "frames over the rate before a 4429 close"),
    ("connections_per_user", int, "open connections per user"),
    ("turns_per_connection", int, "turns in flight per connection"),
    ("turns_per_user", int, "turns in flight per user"),
    ("max_unsent_bytes", int, "unsent bytes per connection before a 4408 close"),
    ("send_timeout", float, "seconds one frame may take to send before a 4408 close"),
    ("threads_per_user", int, "threads one user may own"),
    ("runs_per_user", int, "run ids remembered per user"),
)


async def _serve_until_signalled(arguments: argparse.Namespace, secret: str) -> None:
    limits = ServerLimits(
        **{name: getattr(arguments, name) for name, _, _ in _LIMIT_OPTIONS},
        plan=PlanLimits(max_delay=arguments.max_delay, max_pause=arguments.max_pause),
    )
    policy = TokenPolicy(leeway=arguments.token_leeway, max_lifetime=arguments.token_max_lifetime)
    server = await serve(
        arguments.host,
        arguments.port,
        secret=secret,
        faults=arguments.fault,
        max_engines_per_user=arguments.max_engines_per_user,
        limits=limits,
        token_policy=policy,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(f"listening on {server.url}", flush=True)
        await stop.wait()
    finally:
        await server.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server from the command line; returns the exit code (2: usage or start error)."""
    arguments = _parser().parse_args(argv)
    logging.basicConfig(
        level=arguments.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    secret = arguments.jwt_secret or os.environ.get(SECRET_ENV)
    if not secret:
        print(
            f"harness_backend.server: no JWT secret: set {SECRET_ENV} or pass --jwt-secret SECRET",
            file=sys.stderr,
        )
        return 2
    try:
        asyncio.run(_serve_until_signalled(arguments, secret))
    except (BackendError, ValueError, OSError) as error:
        print(f"harness_backend.server: cannot start: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
