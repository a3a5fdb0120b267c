"""Bearer tokens for the WebSocket server: HS256 JWTs with ``sub``, ``exp``, ``iat`` and ``jti``.

The server accepts a token in an ``Authorization: Bearer <token>`` header or, for browsers that
cannot set headers on a WebSocket, as a ``jwt.<token>`` subprotocol. Every failure raises
:class:`AuthError` whose ``reason`` is short enough for a WebSocket close frame (code 4401).

Lifetime policy (:class:`TokenPolicy`): a token is refused when it is expired (``exp <= now``,
no leeway), not yet valid (``nbf`` later than ``now`` plus ``leeway``, 60 s by default), issued in
the future (``iat`` later than ``now`` plus ``leeway``) or valid for longer than
``max_lifetime`` (``exp - iat``, 24 h by default). PyJWT checks the signature, the algorithm, the
required claims and the types of ``sub`` and ``jti``; the time claims are checked here against
one reading of ``now``, because PyJWT reads the wall clock itself (a test could not give it an
instant) and applies one leeway to ``exp`` as well (which would extend every token's expiry).
``now`` is the wall clock unless given, because a JWT's times are wall time by definition.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import jwt

from harness_backend.errors import BackendError

__all__ = [
    "ALGORITHM",
    "REQUIRED_CLAIMS",
    "SUBPROTOCOL_PREFIX",
    "SECRET_ENV",
    "MIN_SECRET_BYTES",
    "DEFAULT_LEEWAY",
    "DEFAULT_MAX_LIFETIME",
    "AuthError",
    "Claims",
    "TokenPolicy",
    "mint_token",
    "verify_token",
    "check_secret",
    "token_from_headers",
    "token_from_subprotocols",
]

ALGORITHM = "HS256"
#: Claims every token must carry; a token without one of them is refused.
REQUIRED_CLAIMS = ("sub", "exp", "iat", "jti")
#: A subprotocol ``jwt.<token>`` carries the token when no header can be set.
SUBPROTOCOL_PREFIX = "jwt."
#: Environment variable the server reads its signing secret from.
SECRET_ENV = "BACKEND_JWT_SECRET"
#: Shortest accepted secret (RFC 7518 section 3.2).
MIN_SECRET_BYTES = 32

#: Seconds a token's ``nbf`` or ``iat`` may lie in the future (clock skew between hosts).
DEFAULT_LEEWAY = 60.0
#: Longest accepted lifetime ``exp - iat`` of a token, in seconds (24 hours).
DEFAULT_MAX_LIFETIME = 24 * 3600.0

# Time claims beyond this many seconds from the epoch (year ~33000) are not times.
_MAX_TIME = 1e12

# A close frame's reason is at most 123 bytes; keep ours well under it.
_MAX_REASON = 120


class AuthError(BackendError):
    """A connection presented no usable token.

    Causes: no token at all, a token that is not a JWT, one signed with another secret or
    algorithm, an expired one, or one missing a required claim. Fix: mint the token with
    :func:`mint_token` and the server's secret, and send it before it expires.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:_MAX_REASON]


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified claims of a token; ``nbf`` is None when the token has none."""

    sub: str
    exp: float
    iat: float
    jti: str
    nbf: float | None = None


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """How long a token may live and how far its times may run ahead of the server's clock."""

    #: Seconds ``nbf`` and ``iat`` may lie after ``now`` (clock skew); ``exp`` gets none.
    leeway: float = DEFAULT_LEEWAY
    #: Longest accepted ``exp - iat``, in seconds.
    max_lifetime: float = DEFAULT_MAX_LIFETIME

    def __post_init__(self) -> None:
        for name in ("leeway", "max_lifetime"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(f"TokenPolicy.{name}={value!r} must be a number of seconds >= 0")


_DEFAULT_POLICY = TokenPolicy()


def mint_token(
    user_id: str,
    secret: str,
    *,
    ttl: float = 3600,
    now: float | None = None,
    jti: str | None = None,
) -> str:
    """Sign an HS256 token for ``user_id``.

    Args:
        user_id: becomes the ``sub`` claim.
        secret: the server's signing secret.
        ttl: seconds from ``now`` until ``exp``; may be negative to mint an expired token.
        now: issue time in seconds since the epoch; the wall clock when omitted.
        jti: the token id; a random hex string when omitted.

    Raises:
        AuthError: ``user_id`` is empty or ``secret`` shorter than 32 bytes.

    Example:
        >>> secret = "0123456789abcdef0123456789abcdef"
        >>> token = mint_token("usr_0123456789ab", secret, now=1_000_000)
        >>> verify_token(token, secret, now=1_000_001).sub
        'usr_0123456789ab'
    """
    if not isinstance(user_id, str) or not user_id:
        raise AuthError(f"user_id={user_id!r} must be a non-empty string")
    check_secret(secret)
    issued = time.time() if now is None else float(now)
    claims = {
        "sub": user_id,
        "iat": int(issued),
        "exp": int(issued + ttl),
        "jti": jti if jti is not None else secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(
    token: str | None,
    secret: str,
    *,
    now: float | None = None,
    policy: TokenPolicy | None = None,
) -> Claims:
    """Check ``token``'s signature, required claims and lifetime and return its claims.

    Args:
        token: the compact JWT, or None when the client sent none.
        secret: the server's signing secret.
        now: the instant to check the time claims against; the wall clock when omitted.
        policy: leeway and maximum lifetime; :class:`TokenPolicy` defaults when omitted.

    Raises:
        AuthError: ``secret`` is shorter than 32 bytes, or the token is refused, with a
            reason naming what is wrong: ``missing token``, ``malformed token``,
            ``bad signature``, ``algorithm not allowed``, ``missing claim 'x'``,
            ``invalid claim 'x'``, ``expired``, ``not yet valid``, ``issued in the future``
            or ``lifetime too long``.
    """
    check_secret(secret)
    if not token:
        raise AuthError(
            "missing token: send 'Authorization: Bearer <jwt>' or subprotocol jwt.<jwt>"
        )
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "require": list(REQUIRED_CLAIMS),
                # Time claims are checked below against one ``now`` (see the module docstring).
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_sub": True,
                "verify_jti": True,
            },
        )
    except jwt.MissingRequiredClaimError as error:
        raise AuthError(f"missing claim {error.claim!r}") from error
    except jwt.InvalidSignatureError as error:
        raise AuthError("bad signature: token not signed with this server's secret") from error
    except jwt.InvalidAlgorithmError as error:
        raise AuthError(f"algorithm not allowed: expected {ALGORITHM}") from error
    except jwt.InvalidTokenError as error:
        raise AuthError(f"malformed token: {error}") from error
    claims = _typed_claims(payload)
    instant = time.time() if now is None else float(now)
    _check_times(claims, instant, policy or _DEFAULT_POLICY)
    return claims


def _check_times(claims: Claims, now: float, policy: TokenPolicy) -> None:
    if claims.exp <= now:
        raise AuthError(f"expired: exp={claims.exp:.0f} is not after now={int(now)}")
    if claims.nbf is not None and claims.nbf > now + policy.leeway:
        raise AuthError(
            f"not yet valid: nbf={claims.nbf:.0f} is more than {policy.leeway:g}s after "
            f"now={int(now)}"
        )
    if claims.iat > now + policy.leeway:
        raise AuthError(
            f"issued in the future: iat={claims.iat:.0f} is more than {policy.leeway:g}s "
            f"after now={int(now)}"
        )
    lifetime = claims.exp - claims.iat
    if lifetime > policy.max_lifetime:
        raise AuthError(
            f"lifetime too long: exp-iat={lifetime:.0f}s exceeds max_lifetime="
            f"{policy.max_lifetime:.0f}s; mint a shorter-lived token"
        )


def check_secret(secret: str) -> None:
    """Raise :class:`AuthError` unless ``secret`` is a string of at least 32 bytes.

    RFC 7518 section 3.2 requires an HS256 key at least as long as the hash (32 bytes); PyJWT
    warns about shorter keys, so they are refused here with a message instead.
    """
    if not isinstance(secret, str) or not secret:
        raise AuthError(
            f"secret={secret!r} must be a non-empty string; set {SECRET_ENV} or pass --jwt-secret"
        )
    size = len(secret.encode())
    if size < MIN_SECRET_BYTES:
        raise AuthError(
            f"secret is {size} bytes, HS256 needs at least {MIN_SECRET_BYTES}; "
            "use a longer secret (e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )


def _typed_claims(payload: Mapping[str, object]) -> Claims:
    sub, jti = payload["sub"], payload["jti"]
    exp, iat = payload["exp"], payload["iat"]
    if not isinstance(sub, str) or not sub:
        raise AuthError(f"invalid claim 'sub': sub={sub!r}, expected a non-empty string")
    if not isinstance(jti, str) or not jti:
        raise AuthError(f"invalid claim 'jti': jti={jti!r}, expected a non-empty string")
    nbf = payload.get("nbf")
    times = [("exp", exp), ("iat", iat)] + ([("nbf", nbf)] if nbf is not None else [])
    for name, value in times:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not math.isfinite(value))
            or not -_MAX_TIME < value < _MAX_TIME
        ):
            raise AuthError(
                f"invalid claim {name!r}: {name}={str(value)[:40]!r}, expected a number of "
                "seconds since the epoch"
            )
    return Claims(
        sub=sub,
        exp=float(exp),  # type: ignore[arg-type]
        iat=float(iat),  # type: ignore[arg-type]
        jti=jti,
        nbf=float(nbf) if nbf is not None else None,  # type: ignore[arg-type]
    )


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """Return the token of an ``Authorization: Bearer <token>`` header, or None."""
    value = headers.get("Authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def token_from_subprotocols(subprotocols: Iterable[str]) -> str | None:
    """Return the token of the first offered ``jwt.<token>`` subprotocol, or None."""
    for subprotocol in subprotocols:
        if subprotocol.startswith(SUBPROTOCOL_PREFIX) and len(subprotocol) > len(
            SUBPROTOCOL_PREFIX
        ):
            return subprotocol[len(SUBPROTOCOL_PREFIX) :]
    return None
