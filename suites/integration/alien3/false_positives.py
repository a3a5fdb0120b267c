"""The harness's known false positives on the Switchyard backend (see README.md).

Both come from the walks entering library internals; they are for the walk owner to fix
(issue 10: "treat library-internal objects ... as opaque"). The tests of this folder set them
aside with :func:`harness_false_positive`, which recognises exactly these two shapes.
"""

from __future__ import annotations

from harness import Finding

__all__ = ["harness_false_positive"]


def harness_false_positive(finding: Finding) -> bool:
    """True for the two false positives the harness gives on this backend today (README.md).

    - ``shared-state`` on a pydantic model class's ``model_config``: the walk follows the
      class-level configuration dict of every pydantic model met (``ChatRequest.model_config``,
      ``BaseModel.model_config``), which every instance of the class shares; the backend never
      writes it.
    - ``retention`` inside SQLAlchemy's compiled-statement cache: the cache keeps the first
      statement of each shape with the bound value it was first compiled with
      (``store.engine._compiled_cache...binds[...].value = thread_id``); it is never served.
    """
    if finding.kind == "shared-state":
        paths = [line.partition(": ")[2] for line in finding.evidence if line.startswith("usr_")]
        return bool(paths) and all(path.endswith(".model_config") for path in paths)
    if finding.kind == "retention":
        return bool(finding.evidence) and all(
            line.startswith("shared store.engine._compiled_cache.") for line in finding.evidence
        )
    return False
