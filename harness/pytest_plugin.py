"""pytest plugin of the isolation harness (entry point ``pytest11: harness``).

Options (group ``harness``): ``--harness-target``, ``--harness-users``, ``--harness-seed``,
``--harness-strategy``, ``--harness-report``, ``--harness-strict`` (or ``[tool.harness] strict =
true`` in the pyproject.toml of the directory pytest runs from) and ``--staging-url`` (or
``HARNESS_STAGING_URL``). Each but ``--harness-strict`` is also an ini setting
(``harness_target = ...`` in pytest.ini, ``[tool.pytest.ini_options]`` ...): the command line
wins over the ini file, which wins over the default.
Fixtures: ``harness_settings``, ``harness_seed``, ``harness_target``, ``harness_users`` and
``run_scenario``. Tests that use ``run_scenario`` are marked ``harness`` and record their seed,
strategy and replay command, and how many findings, leaks and hazards each run had, in
``item.user_properties`` (hence in ``--junitxml``, also under pytest-xdist). See docs/pytest.md.

Importing this module starts nothing: options are checked in ``pytest_configure`` and targets
are loaded when a fixture asks for one.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from harness.contract import Target
from harness.errors import HarnessError, did_you_mean
from harness.model import RunResult, Scenario, SimUser
from harness.scheduling import STRATEGY_NAMES
from harness.testing import derive_seed, strict_by_default

__all__ = [
    "TARGET_OPTION",
    "USERS_OPTION",
    "SEED_OPTION",
    "STRATEGY_OPTION",
    "REPORT_OPTION",
    "STRICT_OPTION",
    "STAGING_URL_OPTION",
    "STAGING_URL_ENV",
    "STRATEGIES",
    "MARKER",
    "HarnessSettings",
    "HarnessTarget",
    "RunScenario",
    "record_findings",
    "record_run",
    "report_dirname",
    "settings_from_config",
]

TARGET_OPTION = "--harness-target"
USERS_OPTION = "--harness-users"
SEED_OPTION = "--harness-seed"
STRATEGY_OPTION = "--harness-strategy"
REPORT_OPTION = "--harness-report"
STRICT_OPTION = "--harness-strict"
STAGING_URL_OPTION = "--staging-url"
#: Environment variable read when ``--staging-url`` is not given.
STAGING_URL_ENV = "HARNESS_STAGING_URL"
#: Scheduling strategies ``--harness-strategy`` accepts.
#: The strategies the options accept: the seeded loop's own list.
STRATEGIES: tuple[str, ...] = STRATEGY_NAMES
#: The marker the plugin adds to tests that use ``run_scenario``, with its signature.
MARKER = (
    "harness(scope='function'): driven by the isolation harness (added automatically to tests "
    "using run_scenario); scope='session' reuses one loaded target for the whole session"
)
_SCOPES = ("function", "session")


@dataclass(frozen=True, slots=True)
class HarnessSettings:
    """The plugin's options, validated once per session."""

    target: str
    users: int
    seed: int
    strategy: str
    report: Path | None
    staging_url: str | None
    #: Hazards fail ``assert_isolated`` too (``--harness-strict`` or ``[tool.harness]``).
    strict: bool = False


_SETTINGS = pytest.StashKey[HarnessSettings]()
_TARGETS = pytest.StashKey[dict[tuple[str, str | None], Target]]()


#: Each option's ini setting and default: the command line, then the ini file, then this.
_INI: dict[str, tuple[str, str | None]] = {
    TARGET_OPTION: ("harness_target", "reference"),
    USERS_OPTION: ("harness_users", "20"),
    SEED_OPTION: ("harness_seed", "0"),
    STRATEGY_OPTION: ("harness_strategy", "random"),
    REPORT_OPTION: ("harness_report", None),
    STAGING_URL_OPTION: ("harness_staging_url", None),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "isolation harness")
    helps = {
        TARGET_OPTION: "target to test: 'reference', ws://host:port/path or module:attr "
        "(default reference)",
        USERS_OPTION: "simulated users per scenario run (default 20)",
        SEED_OPTION: "session seed; each test's seed is derived from it and the node id "
        "(default 0)",
        STRATEGY_OPTION: f"scheduling strategy: {', '.join(STRATEGIES)} (default random)",
        REPORT_OPTION: "write findings.json, trace.json and report.html of every harness test "
        "under DIR/<node id>",
        STAGING_URL_OPTION: "ws:// or wss:// URL of a staging deployment "
        f"(default: ${STAGING_URL_ENV})",
    }
    for option, text in helps.items():
        ini = _INI[option][0]
        metavar = "DIR" if option == REPORT_OPTION else None
        group.addoption(option, default=None, metavar=metavar, help=f"{text}; ini: {ini}")
        parser.addini(ini, help=f"{text} (the {option} option wins)", default="")
    group.addoption(
        STRICT_OPTION,
        action="store_true",
        default=False,
        help="assert_isolated fails on hazards too, not only on leaks (also: [tool.harness] "
        "strict = true in pyproject.toml)",
    )


def _option(config: pytest.Config, option: str) -> str | None:
    """An option's value: the command line, else its ini setting, else the default."""
    value = config.getoption(option)
    if value is not None:
        return str(value)
    ini, default = _INI[option]
    from_ini = str(config.getini(ini) or "").strip()
    return from_ini or default


def settings_from_config(config: pytest.Config) -> HarnessSettings:
    """Read and check the plugin's options.

    Raises:
        pytest.UsageError: a value is unusable; the message names the option, the value and
            the fix.
    """
    users = _integer(config, USERS_OPTION, minimum=1, example="--harness-users=20")
    seed = _integer(config, SEED_OPTION, minimum=0, example="--harness-seed=0")
    strategy = str(_option(config, STRATEGY_OPTION))
    if strategy not in STRATEGIES:
        raise pytest.UsageError(
            f"{STRATEGY_OPTION}={strategy!r} is not a strategy.{did_you_mean(strategy, STRATEGIES)}"
            f" Use one of: {', '.join(STRATEGIES)}."
        )
    staging = _option(config, STAGING_URL_OPTION) or os.environ.get(STAGING_URL_ENV) or None
    if staging is not None and not staging.startswith(("ws://", "wss://")):
        source = STAGING_URL_OPTION if _option(config, STAGING_URL_OPTION) else STAGING_URL_ENV
        raise pytest.UsageError(
            f"{source}={staging!r} is not a WebSocket URL. "
            "Give ws://host:port/path or wss://host/path."
        )
    target = str(_option(config, TARGET_OPTION)).strip() or "reference"
    try:
        from harness.targets import load_target

        load_target(target)
    except HarnessError as exc:
        raise pytest.UsageError(
            f"{TARGET_OPTION}={target!r} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from None
    report = _option(config, REPORT_OPTION)
    from harness.settings import load_settings

    try:
        project = load_settings(config.invocation_params.dir)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    return HarnessSettings(
        target=target,
        users=users,
        seed=seed,
        strategy=strategy,
        report=Path(report) if report else None,
        staging_url=staging,
        strict=bool(config.getoption(STRICT_OPTION)) or project.strict,
    )


def _integer(config: pytest.Config, option: str, *, minimum: int, example: str) -> int:
    raw = _option(config, option)
    try:
        value = int(str(raw))
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise pytest.UsageError(
            f"{option}={raw!r} must be an integer >= {minimum}. Pass e.g. {example}."
        )
    return value


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    config.stash[_SETTINGS] = settings_from_config(config)
    config.stash[_TARGETS] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_runner = "run_scenario" in getattr(item, "fixturenames", ())
        if uses_runner and item.get_closest_marker("harness") is None:
            item.add_marker(pytest.mark.harness)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    # The strict switch reaches assert_isolated through a context variable set around the
    # test call only, never a module global.
    settings = item.config.stash.get(_SETTINGS, None)
    with strict_by_default(settings is not None and settings.strict):
        return (yield)


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        return None
    return (
        f"harness: target={settings.target} users={settings.users} seed={settings.seed} "
        f"strategy={settings.strategy}" + (" strict" if settings.strict else "")
    )


class HarnessTarget:
    """The target a test runs against: its spec and, for ``scope='session'``, one loaded Target.

    Args:
        spec: what ``harness.targets.load_target`` accepts (``reference``, ``ws://...``,
            ``module:attr``).
        scope: ``function`` loads a fresh Target for every run; ``session`` loads one per
            (spec, fault) and reuses it for every run of the session (the runner still calls
            its ``start``/``stop`` around each run).
        cache: where session-scoped targets are kept (the plugin passes its own).

    Override the ``harness_target`` fixture in a conftest to point a directory at another
    target (``suites/staging_e2e/conftest.py`` does, for the staging URL).
    """

    def __init__(
        self,
        spec: str,
        *,
        scope: str = "function",
        cache: dict[tuple[str, str | None], Target] | None = None,
    ) -> None:
        if scope not in _SCOPES:
            raise pytest.UsageError(
                f"harness marker scope={scope!r} is not one of {', '.join(_SCOPES)}."
                f"{did_you_mean(scope, _SCOPES)} Use @pytest.mark.harness(scope='session')."
            )
        self.spec = spec
        self.scope = scope
        self._cache = {} if cache is None else cache

    def load(self, fault: str | None = None) -> Target | str:
        """The Target to run (session scope), or the spec for the runner to load (function)."""
        if self.scope == "function":
            return self.spec
        key = (self.spec, fault)
        if key not in self._cache:
            from harness.targets import load_target

            self._cache[key] = load_target(self.spec, fault=fault)
        return self._cache[key]

    def __repr__(self) -> str:
        return f"HarnessTarget({self.spec!r}, scope={self.scope!r})"


class RunScenario(Protocol):
    """The ``run_scenario`` fixture's signature."""

    def __call__(
        self,
        scenario: str | Scenario,
        *,
        users: int | None = None,
        seed: int | None = None,
        strategy: str | None = None,
        fault: str | None = None,
    ) -> RunResult: ...


@pytest.fixture
def harness_settings(request: pytest.FixtureRequest) -> HarnessSettings:
    """The plugin's validated options."""
    return request.config.stash[_SETTINGS]


@pytest.fixture
def harness_seed(request: pytest.FixtureRequest, harness_settings: HarnessSettings) -> int:
    """This test's seed: derived from ``--harness-seed`` and the node id (same under xdist)."""
    return derive_seed(harness_settings.seed, request.node.nodeid)


@pytest.fixture
def harness_target(
    request: pytest.FixtureRequest, harness_settings: HarnessSettings
) -> HarnessTarget:
    """The target of ``--harness-target``, scoped by ``@pytest.mark.harness(scope=...)``."""
    marker = request.node.get_closest_marker("harness")
    scope = str(marker.kwargs.get("scope", "function")) if marker is not None else "function"
    return HarnessTarget(harness_settings.target, scope=scope, cache=request.config.stash[_TARGETS])


@pytest.fixture
def harness_users(harness_settings: HarnessSettings, harness_seed: int) -> tuple[SimUser, ...]:
    """``--harness-users`` simulated users made by ``UserFactory(random.Random(harness_seed))``.

    Identities for tests that talk to a target themselves (raw clients, tokens). Scenarios
    built by ``run_scenario(name)`` make their own users from the seed and the scenario name.
    """
    from harness.users import UserFactory

    return UserFactory(random.Random(harness_seed)).users(harness_settings.users)


class _Recorded:
    """The results of one test's ``run_scenario`` calls (a live holder, not a record)."""

    __slots__ = ("results",)

    def __init__(self) -> None:
        self.results: list[RunResult] = []


@pytest.fixture
def run_scenario(
    request: pytest.FixtureRequest,
    harness_settings: HarnessSettings,
    harness_seed: int,
    harness_target: HarnessTarget,
) -> Iterator[RunScenario]:
    """Run a scenario against the target: ``run_scenario(name_or_Scenario, *, users=None,
    seed=None, strategy=None, fault=None) -> RunResult``.

    Defaults come from the options and this test's seed. Each call records ``scenario``,
    ``seed``, ``strategy``, ``target`` and ``replay`` (before the run, so a crash keeps them)
    and ``findings`` (after) in ``item.user_properties``. Call it from a synchronous test: the
    runner starts its own event loop.
    """
    recorded = _Recorded()
    node = request.node

    def run_one(
        scenario: str | Scenario,
        *,
        users: int | None = None,
        seed: int | None = None,
        strategy: str | None = None,
        fault: str | None = None,
    ) -> RunResult:
        from harness.runner import run
        from harness.scenarios import build

        chosen = strategy or harness_settings.strategy
        if chosen not in STRATEGIES:
            raise pytest.UsageError(
                f"run_scenario(strategy={chosen!r}) is not a strategy."
                f"{did_you_mean(chosen, STRATEGIES)} Use one of: {', '.join(STRATEGIES)}."
            )
        if isinstance(scenario, str):
            scenario = build(
                scenario,
                harness_seed if seed is None else seed,
                harness_settings.users if users is None else users,
            )
        spec = harness_target.spec
        record_run(node, scenario, strategy=chosen, target=spec, fault=fault)
        result = run(
            harness_target.load(fault),
            scenario,
            strategy=chosen,
            fault=fault,
            target_spec=spec,
        )
        recorded.results.append(result)
        record_findings(node, result)
        return result

    yield run_one
    if harness_settings.report is not None and recorded.results:
        from harness.reporting import write_reports

        write_reports(harness_settings.report / report_dirname(node.nodeid), recorded.results)


def record_run(
    node: pytest.Item, scenario: Scenario, *, strategy: str, target: str, fault: str | None = None
) -> None:
    """Record in ``node.user_properties`` what ``run_scenario`` records before a run: the
    scenario, seed, strategy, target and replay command (so a crash keeps them)."""
    from harness.runner import replay_command

    replay = replay_command(
        scenario, seed=scenario.seed, strategy=strategy, target=target, fault=fault
    )
    node.user_properties.extend(
        [
            ("scenario", scenario.name),
            ("seed", str(scenario.seed)),
            ("strategy", strategy),
            ("target", target),
            ("replay", replay),
        ]
    )


def record_findings(node: pytest.Item, result: RunResult) -> None:
    """Record in ``node.user_properties`` what ``run_scenario`` records after a run: how many
    findings, leaks and hazards."""
    hazards = sum(1 for finding in result.findings if finding.severity == "hazard")
    node.user_properties.extend(
        [
            ("findings", str(len(result.findings))),
            ("leaks", str(len(result.findings) - hazards)),
            ("hazards", str(hazards)),
        ]
    )


def report_dirname(nodeid: str) -> str:
    """A directory name for a node id: path separators and brackets become ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid).strip("_") or "test"
