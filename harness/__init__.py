"""The isolation harness: proves that a multi-tenant agent backend keeps its users apart."""

from __future__ import annotations

__version__ = "0.1.0"
