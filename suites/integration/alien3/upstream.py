"""The upstream services of the Switchyard platform, behind one shared ``httpx.AsyncClient``.

In production the client talks to a model service and a search service over HTTP; here the
same client runs on an in-process ``httpx.MockTransport`` whose async handler plays both
services (:class:`ModelService`). Calls go through the process-wide circuit breaker and are
counted by route. The client is created once per deployment and shared by every job.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx

from .models import Completion, SearchHits
from .telemetry import BREAKER, METRICS

__all__ = ["ModelService", "Upstream", "UpstreamError"]

_VOCABULARY = (
    "the",
    "numbers",
    "show",
    "steady",
    "growth",
    "across",
    "regions",
    "with",
    "notable",
    "variance",
    "in",
    "support",
    "volume",
    "and",
    "a",
    "healthy",
    "pipeline",
    "for",
    "next",
    "quarter",
)


class UpstreamError(Exception):
    """An upstream call failed (status >= 400, a refused route, a bad body)."""


class ModelService:
    """The in-process stand-in for the upstream model and search services."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await asyncio.sleep(0)  # the network: another job may run meanwhile
        body = json.loads(request.content or b"{}")
        if request.url.path == "/v1/complete":
            return httpx.Response(200, json=self._complete(body))
        if request.url.path == "/v1/search":
            return httpx.Response(200, json=self._search(body))
        return httpx.Response(404, json={"error": f"no route {request.url.path}"})

    @staticmethod
    def _complete(body: dict[str, Any]) -> dict[str, Any]:
        prompt = str(body.get("prompt", ""))
        wanted = max(1, min(int(body.get("max_tokens", 32)), 256))
        seed = hashlib.blake2s(prompt.encode(), digest_size=16).digest()
        tokens = [_VOCABULARY[seed[i % len(seed)] % len(_VOCABULARY)] for i in range(wanted)]
        return {"model": body.get("model", "unknown"), "tokens": tokens, "finish": "length"}

    @staticmethod
    def _search(body: dict[str, Any]) -> dict[str, Any]:
        query = str(body.get("query", ""))
        digest = hashlib.blake2s(query.encode(), digest_size=12).hexdigest()
        return {"query": query, "hits": [f"doc-{digest[i : i + 6]}" for i in range(0, 24, 6)]}


class Upstream:
    """The shared upstream client: one ``AsyncClient``, the breaker, the metrics."""

    def __init__(self) -> None:
        self.service = ModelService()
        self.client = httpx.AsyncClient(
            base_url="http://upstream.switchyard.internal",
            transport=httpx.MockTransport(self.service.handle),
            trust_env=False,
            timeout=httpx.Timeout(5.0),
        )

    async def _post(self, route: str, payload: dict[str, Any]) -> dict[str, Any]:
        now = asyncio.get_running_loop().time()
        BREAKER.check(route, now)
        METRICS.upstream_called(route)
        response = await self.client.post(route, json=payload)
        ok = response.status_code < 400
        BREAKER.record(route, ok, asyncio.get_running_loop().time())
        if not ok:
            raise UpstreamError(f"{route} answered {response.status_code}")
        data: dict[str, Any] = response.json()
        return data

    async def complete(self, model: str, prompt: str, max_tokens: int) -> Completion:
        data = await self._post(
            "/v1/complete", {"model": model, "prompt": prompt, "max_tokens": max_tokens}
        )
        return Completion.model_validate(data)

    async def search(self, query: str) -> SearchHits:
        return SearchHits.model_validate(await self._post("/v1/search", {"query": query}))

    async def aclose(self) -> None:
        await self.client.aclose()
