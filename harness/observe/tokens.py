"""Every string the harness gave a simulated user, and who owns it.

Each simulated user owns unique strings: its ``user_id`` (``usr_<12 hex>``), its ``thread_ids``
(``thread_<12 hex>``), the ``run_id`` of each of its turns (``run_<12 hex>``), its ``canaries``
(``cnry_<16 hex>``), its ``email`` and its ``token`` (a JWT). Detectors search one user's events,
results and object graphs for another user's strings; :class:`TokenIndex` answers "which tokens
does this text carry, and whose are they?".

:meth:`TokenIndex.scan` stays fast with ~100k tokens and long texts: candidates are extracted with
compiled regexes of the token shapes and looked up in a dict. Tokens of other shapes (users built
by hand in tests) go into a fallback alternation regex, compiled lazily and only used when such
tokens exist. A token embedded in a longer string (``"hello cnry_...!"``) is found.

Users of earlier runs count too. A target's module-level cache can outlive a run and hand one
run's data to a user of a later run in the same process; that data is foreign, though its owner
is not in the later trace. :func:`remember_simulated` records the users and runs the process has
simulated (the runner calls it as a run starts), and ``TokenIndex.build(..., earlier=True)``
knows their ids, thread ids, run ids and canaries, behind the run's own users. Emails and auth
tokens of earlier users are left out: generated emails repeat across seeds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from harness.errors import HarnessError
from harness.model import SimUser

__all__ = [
    "TOKEN_KINDS",
    "TokenCollisionError",
    "TokenIndex",
    "forget_simulated",
    "remember_simulated",
    "simulated_owners",
]

#: What a token can be, as :meth:`TokenIndex.kind` names it.
TOKEN_KINDS: tuple[str, ...] = ("user_id", "thread_id", "run_id", "canary", "email", "token")

# Generated ids and canaries have fixed lengths, so a match is exactly one candidate token.
_ID_SHAPE = re.compile(r"(?:usr|thread|run)_[0-9a-f]{12}|cnry_[0-9a-f]{16}")
_JWT_SHAPE = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
_EMAIL_SHAPE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SHAPES = (_ID_SHAPE, _JWT_SHAPE, _EMAIL_SHAPE)
_MEMO_LIMIT = 100_000  # scan results remembered (short texts recur: ids, messages, params)
_MEMO_MAX_LEN = 512  # longer texts are scanned every time


#: Tokens of earlier users kept per process at most; the oldest users are forgotten first.
MAX_REMEMBERED_TOKENS = 500_000


class _Simulated:
    """The users (and their runs) this process has simulated, oldest first."""

    __slots__ = ("kinds", "owners", "tokens_by_user")

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.tokens_by_user: dict[str, list[str]] = {}

    def add(self, token: str, owner: str, kind: str) -> None:
        if not token or token in self.owners or not _ID_SHAPE.fullmatch(token):
            return
        self.owners[token] = owner
        self.kinds[token] = kind
        self.tokens_by_user.setdefault(owner, []).append(token)

    def trim(self) -> None:
        while len(self.owners) > MAX_REMEMBERED_TOKENS and len(self.tokens_by_user) > 1:
            oldest = next(iter(self.tokens_by_user))
            for token in self.tokens_by_user.pop(oldest):
                del self.owners[token]
                del self.kinds[token]


_SIMULATED = _Simulated()


def remember_simulated(users: Iterable[SimUser], runs: Iterable[tuple[str, str]] = ()) -> None:
    """Record users (and ``(owner user_id, run_id)`` runs) this process simulates.

    Later indexes built with ``earlier=True`` know their ids, thread ids, run ids and canaries,
    so a later run that receives them reports a leak across runs. At most
    :data:`MAX_REMEMBERED_TOKENS` tokens are kept, the oldest users' dropped first.
    """
    for user in users:
        owner = user.user_id
        _SIMULATED.add(owner, owner, "user_id")
        for thread_id in user.thread_ids:
            _SIMULATED.add(thread_id, owner, "thread_id")
        for canary in user.canaries:
            _SIMULATED.add(canary, owner, "canary")
    for owner, run_id in runs:
        _SIMULATED.add(run_id, owner, "run_id")
    _SIMULATED.trim()


def forget_simulated() -> None:
    """Forget every user :func:`remember_simulated` recorded (a fresh process's state)."""
    global _SIMULATED
    _SIMULATED = _Simulated()


def simulated_owners() -> tuple[str, ...]:
    """The user ids this process has simulated and still remembers, oldest first."""
    return tuple(_SIMULATED.tokens_by_user)


class TokenCollisionError(HarnessError):
    """One token was given to two owners (or two kinds), so its owner cannot be told.

    Causes: hand-made users that share an id, email or canary; a run id registered for two users.
    Fix: give every user unique strings (``harness.users`` does); the message names the token
    and both owners.
    """


class TokenIndex:
    """Maps every token the harness generated to its owner (a user id) and its kind.

    Built once per run with :meth:`build`; runs are added as turns are planned (:meth:`add_run`).
    Lookups are exact: a token is one whole string given to a user, found inside longer texts.
    """

    __slots__ = (
        "_collisions",
        "_email_domains",
        "_fallback",
        "_fallback_tokens",
        "_kinds",
        "_owners",
        "_scans",
        "_strict",
        "_tokens_by_owner",
    )

    def __init__(self) -> None:
        self._owners: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        self._tokens_by_owner: dict[str, list[str]] = {}
        self._fallback_tokens: set[str] = set()
        self._fallback: re.Pattern[str] | None = None
        self._collisions: list[tuple[str, str, str]] = []
        self._scans: dict[str, tuple[tuple[str, str], ...]] = {}  # memo of short texts
        self._email_domains: set[str] = set()  # "@domain" of every indexed email
        self._strict = False

    @classmethod
    def build(
        cls,
        users: Iterable[SimUser],
        runs: Iterable[tuple[str, str]] = (),
        *,
        strict: bool = False,
        earlier: bool = False,
    ) -> TokenIndex:
        """Index every user's strings, then each ``(owner user_id, run_id)`` of ``runs``.

        A token given twice keeps its first owner and is listed by :meth:`collisions`; with
        ``strict=True`` it raises :class:`TokenCollisionError` instead. With ``earlier=True``
        the index also knows the tokens of every user :func:`remember_simulated` recorded
        (behind ``users``: a token of both keeps its owner in ``users``, silently);
        :meth:`owners` and :meth:`tokens_of` list ``users`` only.
        """
        index = cls()
        index._strict = strict
        for user in users:
            owner = user.user_id
            index._add(owner, owner, "user_id")
            for thread_id in user.thread_ids:
                index._add(thread_id, owner, "thread_id")
            for canary in user.canaries:
                index._add(canary, owner, "canary")
            index._add(user.email, owner, "email")
            index._add(user.token, owner, "token")
        for owner, run_id in runs:
            index.add_run(owner, run_id)
        if earlier and _SIMULATED.owners:
            # Merged in C (dict copy and update): a long-lived process may remember many runs.
            owners = dict(_SIMULATED.owners)
            owners.update(index._owners)
            kinds = dict(_SIMULATED.kinds)
            kinds.update(index._kinds)
            index._owners, index._kinds = owners, kinds
        return index

    def add_run(self, owner: str, run_id: str) -> None:
        """Register ``run_id`` as a run of user ``owner`` (idempotent for the same owner)."""
        self._add(run_id, owner, "run_id")

    def _add(self, token: str, owner: str, kind: str) -> None:
        if not token:
            return  # an unset optional field (SimUser.token defaults to "")
        known = self._owners.get(token)
        if known is not None:
            if known == owner and self._kinds[token] == kind:
                return
            if not self._strict:
                self._collisions.append((token, known, owner))
                return
            raise TokenCollisionError(
                f"token={token!r} is registered as {self._kinds[token]} of owner={known!r} and "
                f"again as {kind} of owner={owner!r}; expected every token to belong to one "
                "user. Fix: generate unique ids, emails and canaries per user."
            )
        self._owners[token] = owner
        if self._scans:
            self._scans = {}  # a new token can change any verdict
        self._kinds[token] = kind
        self._tokens_by_owner.setdefault(owner, []).append(token)
        if kind == "email" and "@" in token:
            self._email_domains.add(token[token.index("@") :])
        if not any(shape.fullmatch(token) for shape in _SHAPES):
            self._fallback_tokens.add(token)
            self._fallback = None  # recompiled on next use

    # ------------------------------------------------------------------ lookups

    def owner(self, token: str) -> str | None:
        """The user id owning ``token``, or None for an unknown string."""
        return self._owners.get(token)

    def kind(self, token: str) -> str | None:
        """One of :data:`TOKEN_KINDS` for a known token, or None."""
        return self._kinds.get(token)

    def tokens_of(self, owner: str) -> tuple[str, ...]:
        """Every token of user ``owner``, in the order they were indexed."""
        return tuple(self._tokens_by_owner.get(owner, ()))

    def collisions(self) -> tuple[tuple[str, str, str], ...]:
        """``(token, kept owner, other owner)`` for each token given to two owners."""
        return tuple(self._collisions)

    def owners(self) -> tuple[str, ...]:
        """Every owner, in the order they were first indexed."""
        return tuple(self._tokens_by_owner)

    def __len__(self) -> int:
        """How many tokens the index knows, earlier users' included."""
        return len(self._owners)

    def __contains__(self, token: object) -> bool:
        return token in self._owners

    def __repr__(self) -> str:
        return f"TokenIndex(tokens={len(self._owners)}, owners={len(self._tokens_by_owner)})"

    # ------------------------------------------------------------------ scanning

    def _fallback_pattern(self) -> re.Pattern[str] | None:
        if not self._fallback_tokens:
            return None
        if self._fallback is None:
            # Longest first so that a token wins over a token that is its prefix.
            ordered = sorted(self._fallback_tokens, key=lambda token: (-len(token), token))
            self._fallback = re.compile("|".join(re.escape(token) for token in ordered))
        return self._fallback

    def _hits(self, text: str) -> list[tuple[int, str]]:
        """(position, token) of every known token in ``text``, unsorted, possibly repeated."""
        owners = self._owners
        hits: list[tuple[int, str]] = []
        if "_" in text:
            for match in _ID_SHAPE.finditer(text):
                if match.group() in owners:
                    hits.append((match.start(), match.group()))
        if "eyJ" in text:
            for match in _JWT_SHAPE.finditer(text):
                if match.group() in owners:
                    hits.append((match.start(), match.group()))
        if "@" in text:
            for match in _EMAIL_SHAPE.finditer(text):
                found = self._email_in(match.group())
                if found is not None:
                    hits.append((match.start() + match.group().index(found), found))
        fallback = self._fallback_pattern()
        if fallback is not None:
            hits.extend((match.start(), match.group()) for match in fallback.finditer(text))
        return hits

    def _email_in(self, candidate: str) -> str | None:
        """The known email inside an email-shaped ``candidate``, trimming what the regex
        swallowed around it (``xjohn@example.org.uk`` and ``john@example.orgs`` hold
        ``john@example.org``)."""
        owners = self._owners
        if candidate in owners:
            return candidate
        at = candidate.index("@")
        domain = candidate[at:]
        domains = self._email_domains
        for end in range(len(domain), 1, -1):
            if domain[:end] not in domains:
                continue
            for start in range(at):
                probe = candidate[start:at] + domain[:end]
                if probe in owners and self._kinds[probe] == "email":
                    return probe
        return None

    def scan(self, text: str) -> list[tuple[str, str]]:
        """``(token, owner)`` for each known token occurring in ``text``.

        In order of first occurrence, each token once. Tokens embedded in longer strings count.
        Results for short texts are remembered until a token is added.
        """
        memo = self._scans
        cached = memo.get(text)
        if cached is not None:
            return list(cached)
        hits = self._hits(text)
        found: dict[str, str] = {}
        if hits:
            hits.sort()
            owners = self._owners
            for _, token in hits:
                if token not in found:
                    found[token] = owners[token]
        result = list(found.items())
        if len(text) <= _MEMO_MAX_LEN:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[text] = tuple(result)
        return result

    def has_any(self, text: str) -> bool:
        """Whether ``text`` carries at least one known token (cheaper than :meth:`scan`)."""
        owners = self._owners
        if "_" in text:
            for match in _ID_SHAPE.finditer(text):
                if match.group() in owners:
                    return True
        if "eyJ" in text:
            for match in _JWT_SHAPE.finditer(text):
                if match.group() in owners:
                    return True
        if "@" in text:
            for match in _EMAIL_SHAPE.finditer(text):
                if self._email_in(match.group()) is not None:
                    return True
        fallback = self._fallback_pattern()
        return fallback is not None and fallback.search(text) is not None

    @property
    def needs_full_scan(self) -> bool:
        """True when hand-made tokens of odd shapes exist: then any text may carry a token,
        not only texts holding ``_``, ``@`` or ``eyJ``."""
        return bool(self._fallback_tokens)
