"""Simulated users: Faker identities, ids, canaries and tokens, all from one seeded ``Random``.

A :class:`UserFactory` turns a ``random.Random`` into users whose every identifying string is
unique within the factory, so any of them found in another user's data is proof of a leak::

    >>> import functools
import functools
import random
    >>> factory = UserFactory(random.Random(7))
    >>> user = factory.user()
    >>> bool(USER_ID_PATTERN.fullmatch(user.user_id))
    True

Ids have one shape, accepted by strict real backends (DESIGN.md section 4): ``usr_<12 hex>``,
``thread_<12 hex>``, ``run_<12 hex>`` and canaries ``cnry_<16 hex>``. Hex never spells a
placeholder word such as ``test``, ``demo``, ``mock`` or ``default``.

Names, emails and companies come from ``Faker("en_US")``. Faker's providers are slow (tens of
microseconds a call), so pools of names, companies and mail domains are drawn from it once per
process, with a fixed Faker seed, and every factory picks from those pools with its rng: a
scenario's identities are a function of its seed alone, and building one costs no Faker call.
Emails are made unique by a hex suffix, not by luck.
"""

from __future__ import annotations

import functools
import random
import re
import unicodedata
from dataclasses import dataclass

import jwt
from faker import Faker

from harness.errors import UsageError
from harness.model import SimUser

__all__ = [
    "USER_ID_PATTERN",
    "THREAD_ID_PATTERN",
    "RUN_ID_PATTERN",
    "CANARY_PATTERN",
    "EMAIL_PATTERN",
    "DEFAULT_JWT_SECRET",
    "DEFAULT_ISSUED_AT",
    "DEFAULT_TOKEN_TTL",
    "UserFactory",
    "sign_token",
]

#: ``usr_`` and 12 lowercase hex digits.
USER_ID_PATTERN: re.Pattern[str] = re.compile(r"usr_[0-9a-f]{12}")
#: ``thread_`` and 12 lowercase hex digits.
THREAD_ID_PATTERN: re.Pattern[str] = re.compile(r"thread_[0-9a-f]{12}")
#: ``run_`` and 12 lowercase hex digits.
RUN_ID_PATTERN: re.Pattern[str] = re.compile(r"run_[0-9a-f]{12}")
#: ``cnry_`` and 16 lowercase hex digits.
CANARY_PATTERN: re.Pattern[str] = re.compile(r"cnry_[0-9a-f]{16}")
#: ``first.last.<6 hex>@domain``, ASCII lowercase.
EMAIL_PATTERN: re.Pattern[str] = re.compile(r"[a-z0-9]+\.[a-z0-9]+\.[0-9a-f]{6}@[a-z0-9.-]+")

#: The signing secret tokens use unless the factory is given another.
DEFAULT_JWT_SECRET = "harness-local-signing-secret-of-32-bytes+"
#: ``iat`` of every token unless given: a fixed instant keeps tokens deterministic.
DEFAULT_ISSUED_AT = 1_700_000_000
#: Seconds from ``iat`` to ``exp``.
DEFAULT_TOKEN_TTL = 3600

# Pool sizes: large enough that names look varied across thousands of users, small enough
# that drawing them from Faker stays in the low milliseconds.
_NAME_POOL = 256
_COMPANY_POOL = 128
_DOMAIN_POOL = 16


def sign_token(user_id: str, *, secret: str, issued_at: int, ttl: int, jti: str) -> str:
    """Sign an HS256 JWT with claims ``sub``, ``iat``, ``exp`` and ``jti``.

    The result depends only on the arguments, so a seeded factory mints the same tokens on
    every run. Secrets should have at least 32 bytes (PyJWT warns about shorter HMAC keys).

    Example:
        >>> token = sign_token("usr_0123456789ab", secret="s" * 32, issued_at=0, ttl=60, jti="ab")
        >>> token.count(".")
        2
    """
    claims = {"sub": user_id, "iat": issued_at, "exp": issued_at + ttl, "jti": jti}
    return jwt.encode(claims, secret, algorithm="HS256")


def _ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = "".join(ch for ch in folded.lower() if ch.isalnum())
    return slug or "user"


class UserFactory:
    """Makes simulated users, ids and canaries from one seeded ``random.Random``.

    Every id, canary and email a factory hands out is unique within it (a collision is
    re-drawn), and nothing is shared between two users' data. The same rng state gives the same
    users, tokens included.

    Args:
        rng: the only source of randomness.
        jwt_secret: signs each user's ``token``.
        issued_at: the ``iat`` claim of every token (seconds since the epoch).
        token_ttl: seconds from ``iat`` to ``exp``.
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        jwt_secret: str = DEFAULT_JWT_SECRET,
        issued_at: int = DEFAULT_ISSUED_AT,
        token_ttl: int = DEFAULT_TOKEN_TTL,
    ) -> None:
        if not isinstance(rng, random.Random):
            raise UsageError(
                f"rng={rng!r} (type {type(rng).__name__}) is not a random.Random. "
                "Pass random.Random(seed) so users replay from the seed."
            )
        if not isinstance(jwt_secret, str) or not jwt_secret:
            raise UsageError(
                f"jwt_secret={jwt_secret!r} must be a non-empty string: it signs user tokens."
            )
        self._rng = rng
        self._secret = jwt_secret
        self._issued_at = int(issued_at)
        self._ttl = int(token_ttl)
        self._issued: set[str] = set()

    # ------------------------------------------------------------------ ids

    def _draw(self, prefix: str, digits: int) -> str:
        bits = digits * 4
        while True:
            value = f"{prefix}{self._rng.getrandbits(bits):0{digits}x}"
            if value not in self._issued:
                self._issued.add(value)
                return value

    def user_id(self) -> str:
        """A fresh ``usr_<12 hex>``."""
        return self._draw("usr_", 12)

    def thread_id(self) -> str:
        """A fresh ``thread_<12 hex>``."""
        return self._draw("thread_", 12)

    def run_id(self) -> str:
        """A fresh ``run_<12 hex>``, unique within this factory."""
        return self._draw("run_", 12)

    def canary(self) -> str:
        """A fresh ``cnry_<16 hex>``: a token that must only ever appear in its owner's data."""
        return self._draw("cnry_", 16)

    # ------------------------------------------------------------------ identities

    def _email(self, first: str, last: str) -> str:
        local = f"{_ascii_slug(first)}.{_ascii_slug(last)}"
        domains = _pools().domains
        domain = domains[self._rng.randrange(len(domains))]
        while True:
            email = f"{local}.{self._rng.getrandbits(24):06x}@{domain}"
            if email not in self._issued:
                self._issued.add(email)
                return email

    def user(self, threads: int = 2, canaries: int = 3) -> SimUser:
        """One new user with ``threads`` thread ids, ``canaries`` canaries and a signed token.

        Raises:
            UsageError: ``threads`` or ``canaries`` is not a positive int.
        """
        _check_count("threads", threads, minimum=1)
        _check_count("canaries", canaries, minimum=1)
        pools = _pools()
        rng = self._rng
        first = pools.first_names[rng.randrange(_NAME_POOL)]
        last = pools.last_names[rng.randrange(_NAME_POOL)]
        company = pools.companies[rng.randrange(_COMPANY_POOL)]
        user_id = self.user_id()
        thread_ids = tuple(self.thread_id() for _ in range(threads))
        canary_values = tuple(self.canary() for _ in range(canaries))
        email = self._email(first, last)
        jti = f"{rng.getrandbits(64):016x}"
        token = sign_token(
            user_id, secret=self._secret, issued_at=self._issued_at, ttl=self._ttl, jti=jti
        )
        return SimUser(
            user_id=user_id,
            thread_ids=thread_ids,
            email=email,
            display_name=f"{first} {last}",
            canaries=canary_values,
            token=token,
            company=company,
        )

    def users(self, n: int, threads: int = 2, canaries: int = 3) -> tuple[SimUser, ...]:
        """``n`` new users, each as :meth:`user` makes them.

        Raises:
            UsageError: ``n`` is negative or not an int.
        """
        _check_count("n", n, minimum=0)
        return tuple(self.user(threads=threads, canaries=canaries) for _ in range(n))


@dataclass(frozen=True, slots=True)
class _Pools:
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    companies: tuple[str, ...]
    domains: tuple[str, ...]


#: The Faker seed of the identity pools: fixed, so pools are the same in every process.
_POOL_SEED = 20_241_205


@functools.cache
def _pools() -> _Pools:
    """Names, companies and mail domains drawn from Faker once per process (immutable)."""
    faker = Faker("en_US")
    faker.seed_instance(_POOL_SEED)
    return _Pools(
        first_names=tuple(faker.first_name() for _ in range(_NAME_POOL)),
        last_names=tuple(faker.last_name() for _ in range(_NAME_POOL)),
        companies=tuple(faker.company() for _ in range(_COMPANY_POOL)),
        domains=tuple(sorted({faker.free_email_domain() for _ in range(_DOMAIN_POOL)})),
    )


def _check_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(
            f"{name}={value!r} (type {type(value).__name__}) must be an int >= {minimum}. "
            f"Pass a whole number, e.g. {name}={max(minimum, 2)}."
        )
