"""The prebuilt catalog of the Switchyard platform: models, prompt fragments, settings.

Built once per deployment and shared by every tenant: a few thousand objects, as a real
service loads model cards, prompt libraries and a configuration tree at start-up. Entries are
frozen records (jobs reference them freely); the :class:`SettingsTree` is mutable (operators
tune it at run time) and is reached only through the :class:`Catalog`, a declared shared root.
"""

from __future__ import annotations

import dataclasses
import hashlib
import types
from collections.abc import Iterator, Mapping

__all__ = [
    "Catalog",
    "ModelCard",
    "PromptFragment",
    "SettingNode",
    "SettingsTree",
    "build_catalog",
]

_FAMILIES = ("atlas", "boreal", "cirrus", "delta", "ember", "fjord", "gale", "harbor")
_SIZES = ("nano", "mini", "base", "large", "xl")
_TOPICS = (
    "revenue",
    "support",
    "pipeline",
    "meetings",
    "hiring",
    "roadmap",
    "billing",
    "security",
    "onboarding",
    "forecast",
)
_TONES = ("brief", "formal", "friendly", "technical")


@dataclasses.dataclass(frozen=True, slots=True)
class ModelCard:
    """One upstream model the platform may route to."""

    name: str
    family: str
    context_window: int
    price_tiers: tuple[float, ...]
    capabilities: frozenset[str]


@dataclasses.dataclass(frozen=True, slots=True)
class PromptFragment:
    """A reusable piece of system prompt, by topic and tone."""

    key: str
    topic: str
    tone: str
    text: str
    weight: int


class SettingNode:
    """One node of the settings tree: a value, or children by name."""

    __slots__ = ("children", "name", "value")

    def __init__(self, name: str, value: object = None) -> None:
        self.name = name
        self.value = value
        self.children: dict[str, SettingNode] = {}

    def child(self, name: str, value: object = None) -> SettingNode:
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = SettingNode(name, value)
        return node

    def walk(self) -> Iterator[SettingNode]:
        yield self
        for child in self.children.values():
            yield from child.walk()


class SettingsTree:
    """Runtime settings, by dotted path (``limits.jobs_per_user``)."""

    def __init__(self) -> None:
        self.root = SettingNode("")

    def set(self, path: str, value: object) -> None:
        node = self.root
        for part in path.split("."):
            node = node.child(part)
        node.value = value

    def get(self, path: str, default: object = None) -> object:
        node = self.root
        for part in path.split("."):
            found = node.children.get(part)
            if found is None:
                return default
            node = found
        return node.value

    def __len__(self) -> int:
        return sum(1 for _ in self.root.walk())


class Catalog:
    """Everything prebuilt: model cards, prompt fragments by topic, the settings tree."""

    def __init__(
        self,
        models: Mapping[str, ModelCard],
        fragments: Mapping[str, tuple[PromptFragment, ...]],
        settings: SettingsTree,
    ) -> None:
        self.models: Mapping[str, ModelCard] = types.MappingProxyType(dict(models))
        self.fragments: Mapping[str, tuple[PromptFragment, ...]] = types.MappingProxyType(
            dict(fragments)
        )
        self.settings = settings

    def model_for(self, kind: str) -> ModelCard:
        """The model an agent kind routes to (stable: by a digest of the kind)."""
        names = sorted(self.models)
        digest = int(hashlib.blake2s(kind.encode(), digest_size=4).hexdigest(), 16)
        return self.models[names[digest % len(names)]]

    def fragments_for(self, text: str, count: int) -> tuple[PromptFragment, ...]:
        """``count`` fragments whose topic best matches ``text`` (a keyword match)."""
        words = text.lower()
        chosen: list[PromptFragment] = []
        for topic in _TOPICS:
            if topic in words or not chosen:
                chosen.extend(self.fragments[topic][: count - len(chosen)])
            if len(chosen) >= count:
                break
        return tuple(chosen)

    def object_count(self) -> int:
        """How many objects the catalog holds (cards, fragments, setting nodes)."""
        return len(self.models) + sum(len(f) for f in self.fragments.values()) + len(self.settings)


def _models() -> dict[str, ModelCard]:
    models: dict[str, ModelCard] = {}
    for family in _FAMILIES:
        for size_index, size in enumerate(_SIZES):
            for revision in range(12):
                name = f"{family}-{size}-r{revision:02d}"
                window = 4096 << size_index
                tiers = tuple(round(0.1 * (size_index + 1) * (1 + t / 10), 4) for t in range(4))
                caps = frozenset({"chat", "tools"} if size_index else {"chat"})
                models[name] = ModelCard(name, family, window, tiers, caps)
    return models


def _fragments() -> dict[str, tuple[PromptFragment, ...]]:
    fragments: dict[str, tuple[PromptFragment, ...]] = {}
    for topic in _TOPICS:
        entries = []
        for tone in _TONES:
            for number in range(40):
                key = f"{topic}/{tone}/{number:03d}"
                text = f"When asked about {topic}, answer in a {tone} way (rule {number})."
                entries.append(PromptFragment(key, topic, tone, text, weight=number % 7))
        fragments[topic] = tuple(entries)
    return fragments


def _settings() -> SettingsTree:
    tree = SettingsTree()
    tree.set("limits.jobs_per_user", 2)
    tree.set("limits.max_steps", 64)
    tree.set("upstream.timeout", 5.0)
    tree.set("upstream.retries", 1)
    for family in _FAMILIES:
        for size in _SIZES:
            for region in ("eu", "us", "ap"):
                base = f"routing.{family}.{size}.{region}"
                tree.set(f"{base}.weight", len(family) + len(size))
                tree.set(f"{base}.enabled", True)
                tree.set(f"{base}.quota", 1000)
                for slot in range(4):
                    tree.set(f"{base}.slots.s{slot}", slot)
    return tree


def build_catalog() -> Catalog:
    """The catalog a deployment starts with (deterministic: no clock, no randomness)."""
    return Catalog(_models(), _fragments(), _settings())
