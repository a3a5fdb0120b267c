"""Tokens: minting, verification and every way a token is refused."""

from __future__ import annotations

import jwt
import pytest

import harness_backend.auth
from harness_backend.auth import (
    AuthError,
    Claims,
    mint_token,
    token_from_headers,
    token_from_subprotocols,
    verify_token,
)

SECRET = "unit-secret-0123456789abcdef-long-enough"
NOW = 1_700_000_000.0
USER = "usr_0123456789ab"


def test_all_lists_the_public_names() -> None:
    assert set(harness_backend.auth.__all__) == {
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
    }


def test_minted_token_verifies_to_its_claims() -> None:
    token = mint_token(USER, SECRET, ttl=60, now=NOW, jti="jti_1")
    assert verify_token(token, SECRET, now=NOW + 59) == Claims(
        sub=USER, exp=NOW + 60, iat=NOW, jti="jti_1"
    )


def test_default_jti_differs_per_token() -> None:
    first = verify_token(mint_token(USER, SECRET, now=NOW), SECRET, now=NOW)
    second = verify_token(mint_token(USER, SECRET, now=NOW), SECRET, now=NOW)
    assert first.jti != second.jti


def test_wall_clock_default_accepts_a_fresh_token() -> None:
    assert verify_token(mint_token(USER, SECRET), SECRET).sub == USER


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token(token: str | None) -> None:
    with pytest.raises(AuthError, match="missing token"):
        verify_token(token, SECRET, now=NOW)


def test_forged_signature() -> None:
    token = mint_token(USER, "another-secret-0123456789abcdef-long", now=NOW)
    with pytest.raises(AuthError, match="bad signature"):
        verify_token(token, SECRET, now=NOW)


def test_expired_token() -> None:
    token = mint_token(USER, SECRET, ttl=10, now=NOW)
    with pytest.raises(AuthError, match="expired") as caught:
        verify_token(token, SECRET, now=NOW + 10)
    assert str(int(NOW + 10)) in caught.value.reason


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "jti"])
def test_missing_claim(claim: str) -> None:
    claims = {"sub": USER, "exp": int(NOW) + 60, "iat": int(NOW), "jti": "jti_1"}
    del claims[claim]
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match=f"missing claim '{claim}'"):
        verify_token(token, SECRET, now=NOW)


def test_non_string_sub_is_an_invalid_claim() -> None:
    claims = {"sub": 42, "exp": int(NOW) + 60, "iat": int(NOW), "jti": "jti_1"}
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    with pytest.raises(AuthError, match=r"(invalid claim .sub.|malformed token)"):
        verify_token(token, SECRET, now=NOW)


def test_other_algorithm_is_refused() -> None:
    claims = {"sub": USER, "exp": int(NOW) + 60, "iat": int(NOW), "jti": "jti_1"}
    token = jwt.encode(claims, SECRET * 2, algorithm="HS512")
    with pytest.raises(AuthError, match="algorithm not allowed"):
        verify_token(token, SECRET, now=NOW)


def test_garbage_is_malformed() -> None:
    with pytest.raises(AuthError, match="malformed token"):
        verify_token("not-a-jwt", SECRET, now=NOW)


def test_reason_fits_a_close_frame() -> None:
    error = AuthError("x" * 500)
    assert len(error.reason.encode()) <= 123


@pytest.mark.parametrize(("user_id", "secret"), [("", SECRET), (USER, "")])
def test_mint_refuses_empty_values(user_id: str, secret: str) -> None:
    with pytest.raises(AuthError, match="must be a non-empty string"):
        mint_token(user_id, secret)


def test_short_secret_is_refused_with_the_fix() -> None:
    with pytest.raises(AuthError, match="secret is 6 bytes, HS256 needs at least 32"):
        mint_token(USER, "s3cret")
    with pytest.raises(AuthError, match="at least 32"):
        verify_token("a.b.c", "s3cret")


def test_token_from_headers() -> None:
    assert token_from_headers({"Authorization": "Bearer abc.def.ghi"}) == "abc.def.ghi"
    assert token_from_headers({"Authorization": "bearer  abc"}) == "abc"
    assert token_from_headers({"Authorization": "Basic abc"}) is None
    assert token_from_headers({"Authorization": "Bearer "}) is None
    assert token_from_headers({}) is None


def test_token_from_subprotocols() -> None:
    assert token_from_subprotocols(["chat", "jwt.abc.def"]) == "abc.def"
    assert token_from_subprotocols(["jwt."]) is None
    assert token_from_subprotocols(["chat"]) is None
