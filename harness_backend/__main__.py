"""Command line of the WebSocket server: ``python -m harness_backend.server`` or ``python -m
backend``.

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

from harness_backend.auth import SECRET_ENV
from harness_backend.errors import BackendError
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
    parser.add_argument("--max-size", type=int, default=defaults.max_size, metavar="BYTES")
    parser.add_argument("--rate", type=float, default=defaults.rate, help="messages/s")
    parser.add_argument("--burst", type=float, default=defaults.burst, help="messages")
    parser.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    return parser


async def _serve_until_signalled(arguments: argparse.Namespace, secret: str) -> None:
    limits = ServerLimits(max_size=arguments.max_size, rate=arguments.rate, burst=arguments.burst)
    server = await serve(
        arguments.host,
        arguments.port,
        secret=secret,
        faults=arguments.fault,
        max_engines_per_user=arguments.max_engines_per_user,
        limits=limits,
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
