"""``findings.json`` and ``trace.json``: what a run leaves behind for replay, shrink and report.

One run::

    {"schema": 1, "scenario", "seed", "strategy", "target", "fault", "trace_digest", "replay",
     "findings": [...], "stats": {...}, "notes": [...], "scenario_spec": {...} | null}

Several runs (``--scenario all --seeds 0..19``): the same top-level keys for the first failing
run (the first run when none failed) plus ``"runs"``: one object per run with the same keys but
``scenario_spec``. ``trace.json`` holds the full :class:`~harness.model.Trace` of that run.
Both files are written atomically: a reader never sees half a file.
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.detectors import group_findings
from harness.errors import FindingsFileError
from harness.model import RunRecord, RunResult, Scenario, Trace
from harness.serialization import RecordDataError, from_data, to_data

__all__ = [
    "FINDINGS_SCHEMA",
    "FindingsFile",
    "FindingsRun",
    "first_failing",
    "read_findings",
    "read_trace",
    "write_findings",
    "write_trace",
    "trace_json",
]

_GZIP_MAGIC = b"\x1f\x8b"

#: The findings-file schema this harness writes and reads.
FINDINGS_SCHEMA = 1

_FIX = "Pass a findings.json written by `harness run` or `harness explore` (schema 1)."


#: One run as a findings file records it (everything but the scenario spec).
FindingsRun = RunRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingsFile(RunRecord):
    """A findings file read back: the headline run, its scenario spec and every run."""

    schema: int
    scenario_spec: Scenario | None = None
    #: Every run when the file covers several; ``()`` for a one-run file.
    runs: tuple[RunRecord, ...] = ()

    def headline(self) -> RunRecord:
        """Return the top-level run (the first failing one) as a :class:`RunRecord`."""
        return self.record()

    def all_runs(self) -> tuple[RunRecord, ...]:
        """Return every run the file covers: ``runs``, or the headline run alone."""
        return self.runs if self.runs else (self.headline(),)


def first_failing(results: Sequence[RunResult]) -> RunResult:
    """Return the first result with findings, or the first result when none has any.

    Raises:
        FindingsFileError: ``results`` is empty.
    """
    if not results:
        raise FindingsFileError("results=[] holds no run; run at least one scenario and seed.")
    return next((result for result in results if result.findings), results[0])


def _run_data(result: RunRecord) -> dict[str, Any]:
    data = {name: to_data(getattr(result, name)) for name in RUN_KEYS}
    # One finding per root cause (docs/findings.md, "Groups"); the detectors' per-user
    # findings are counted in each group's ``count`` and ``pairs``.
    data["findings"] = to_data(group_findings(result.findings))
    return data


def write_findings(
    path: str | os.PathLike[str],
    results: Sequence[RunResult],
    *,
    cache: MutableMapping[int, dict[str, Any]] | None = None,
) -> None:
    """Write ``findings.json`` for one run or several, atomically.

    Args:
        path: the file to write; its directory is created when missing.
        results: the runs, in the order they ran.
        cache: a mapping the caller keeps while it rewrites the file as runs finish (keyed by
            ``id(result)``, so the caller must keep the results alive): each run is grouped
            and turned into data once, not once per rewrite.

    Raises:
        FindingsFileError: ``results`` is empty.

    Example:
        >>> write_findings("reports/latest/findings.json", [result])  # doctest: +SKIP
    """
    memo: MutableMapping[int, dict[str, Any]] = {} if cache is None else cache

    def run_data(result: RunResult) -> dict[str, Any]:
        data = memo.get(id(result))
        if data is None:
            data = memo[id(result)] = _run_data(result)
        return data

    head = first_failing(results)
    data: dict[str, Any] = {"schema": FINDINGS_SCHEMA, **run_data(head)}
    data["scenario_spec"] = to_data(head.trace.scenario_spec)
    if len(results) > 1:
        data["runs"] = [run_data(result) for result in results]
    _write_json(Path(path), data)


def write_trace(path: str | os.PathLike[str], trace: Trace) -> None:
    """Write the full ``trace`` as ``trace.json`` (the data of :func:`to_data`), atomically.

    The trace is read by programs, not people: it is written without indentation (a third of
    an indented trace is spaces), and gzip-compressed when ``path`` ends with ``.gz``.
    :func:`read_trace` reads either form.
    """
    target = Path(path)
    payload = _json_bytes(to_data(trace), indent=None)
    if target.suffix == ".gz":
        # mtime=0: the same trace gives the same bytes.
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    _write_bytes(target, payload)


def trace_json(trace: Trace) -> bytes:
    """The bytes ``trace.json`` holds for ``trace`` (compact JSON, before any compression)."""
    return _json_bytes(to_data(trace), indent=None)


def _json_bytes(data: object, *, indent: int | None) -> bytes:
    separators = (",", ":") if indent is None else None
    try:
        text = json.dumps(
            data, indent=indent, separators=separators, sort_keys=True, ensure_ascii=False
        )
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        # Lone surrogates have no UTF-8 form; JSON's \u escapes keep them readable back.
        text = json.dumps(data, indent=indent, separators=separators, sort_keys=True)
        return text.encode("ascii") + b"\n"


def _write_json(path: Path, data: object) -> None:
    _write_bytes(path, _json_bytes(data, indent=2))


def _write_text(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8", "replace"))


def _write_bytes(path: Path, payload: bytes) -> None:
    # Temp file in the same directory, then os.replace: readers see the old file or the new one.
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            # mkstemp makes the file private (0600); reports get the usual mode (0644 by umask).
            if hasattr(os, "fchmod"):  # POSIX only
                os.fchmod(out.fileno(), 0o666 & ~_umask())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- reading


def _load_object(path: Path, what: str) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise FindingsFileError(f"{what}={str(path)!r} does not exist. {_FIX}") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise FindingsFileError(f"{what}={str(path)!r} cannot be read ({exc}). {_FIX}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FindingsFileError(
            f"{what}={str(path)!r} is not JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}). {_FIX}"
        ) from None
    if not isinstance(data, dict):
        raise FindingsFileError(
            f"{what}={str(path)!r} holds a JSON {type(data).__name__}, expected an object "
            f'({{"schema": 1, ...}}). {_FIX}'
        )
    return data


#: A run's keys in findings.json, in the file's order (every field of a RunRecord).
RUN_KEYS = (
    "scenario",
    "seed",
    "strategy",
    "target",
    "fault",
    "trace_digest",
    "replay",
    "findings",
    "stats",
    "notes",
)


def read_findings(path: str | os.PathLike[str]) -> FindingsFile:
    """Read and validate a ``findings.json``.

    Raises:
        FindingsFileError: the file is missing, not JSON, not an object, of another schema, or a
            key is missing or of the wrong type; the message names the file, the key and the fix.
    """
    file = Path(path)
    data = _load_object(file, "findings file")
    if "schema" not in data:
        raise FindingsFileError(
            f"findings file={str(file)!r} has no 'schema' key; this harness reads schema "
            f"{FINDINGS_SCHEMA}. {_FIX}"
        )
    schema = data["schema"]
    if schema != FINDINGS_SCHEMA or isinstance(schema, bool):
        raise FindingsFileError(
            f"findings file={str(file)!r} has schema={schema!r}; this harness reads schema "
            f"{FINDINGS_SCHEMA} only. Re-run `harness run` with this harness to write it again, "
            "or read it with the harness version that wrote it."
        )
    missing = [key for key in (*RUN_KEYS, "scenario_spec") if key not in data]
    if missing:
        raise FindingsFileError(
            f"findings file={str(file)!r} lacks the key(s) {', '.join(map(repr, missing))}. {_FIX}"
        )
    runs = data.get("runs", [])
    if not isinstance(runs, list):
        raise FindingsFileError(
            f"findings file={str(file)!r}: key 'runs' holds {type(runs).__name__}, expected a "
            f"list of run objects. {_FIX}"
        )
    for index, run in enumerate(runs):
        gaps = [key for key in RUN_KEYS if not isinstance(run, dict) or key not in run]
        if gaps:
            raise FindingsFileError(
                f"findings file={str(file)!r}: runs[{index}] lacks the key(s) "
                f"{', '.join(map(repr, gaps))}. {_FIX}"
            )
    try:
        return from_data(FindingsFile, data)
    except RecordDataError as exc:
        key = exc.path.removeprefix("FindingsFile.")
        raise FindingsFileError(
            f"findings file={str(file)!r}: key {key!r}: {exc.detail} {_FIX}"
        ) from None


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """Read a ``trace.json`` written by :func:`write_trace`.

    Raises:
        FindingsFileError: missing, not JSON, not an object or not a Trace; names file and key.
    """
    file = Path(path)
    data = _load_object(file, "trace file")
    try:
        return from_data(Trace, data)
    except RecordDataError as exc:
        key = exc.path.removeprefix("Trace.")
        raise FindingsFileError(
            f"trace file={str(file)!r}: key {key!r}: {exc.detail} Pass the trace.json written "
            "beside findings.json by `harness run --report DIR`."
        ) from None
