"""Tokens: minting, verification and every way a token is refused."""

from __future__ import annotations

import jwt
import pytest

import harness_backend.auth
from harness_backend.auth import (
    AuthError,
    Claims,
    TokenPolicy,
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


def _signed(**claims: object) -> str:
    base: dict[str, object] = {"sub": USER, "iat": int(NOW), "exp": int(NOW) + 60, "jti": "j"}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


def test_nbf_in_the_future_is_not_yet_valid() -> None:
    token = _signed(nbf=int(NOW) + 3600, exp=int(NOW) + 7200)
    with pytest.raises(AuthError, match="not yet valid: nbf=") as caught:
        verify_token(token, SECRET, now=NOW)
    assert "60s" in caught.value.reason
    # Once nbf has passed, the same token is accepted, and its nbf is reported.
    assert verify_token(token, SECRET, now=NOW + 3600).nbf == NOW + 3600


def test_nbf_and_iat_within_the_leeway_are_accepted() -> None:
    token = _signed(nbf=int(NOW) + 30, iat=int(NOW) + 30, exp=int(NOW) + 90)
    assert verify_token(token, SECRET, now=NOW).sub == USER


def test_iat_ten_years_ahead_is_issued_in_the_future() -> None:
    ten_years = 10 * 365 * 24 * 3600
    token = _signed(iat=int(NOW) + ten_years, exp=int(NOW) + ten_years + 60)
    with pytest.raises(AuthError, match="issued in the future: iat="):
        verify_token(token, SECRET, now=NOW)


def test_a_lifetime_over_the_maximum_is_refused() -> None:
    token = mint_token(USER, SECRET, ttl=24 * 3600 + 1, now=NOW)
    with pytest.raises(AuthError, match=r"lifetime too long: exp-iat=86401s exceeds"):
        verify_token(token, SECRET, now=NOW)
    assert verify_token(mint_token(USER, SECRET, ttl=24 * 3600, now=NOW), SECRET, now=NOW)


def test_the_policy_is_configurable() -> None:
    policy = TokenPolicy(leeway=0, max_lifetime=120)
    with pytest.raises(AuthError, match="issued in the future"):
        verify_token(_signed(iat=int(NOW) + 1), SECRET, now=NOW, policy=policy)
    with pytest.raises(AuthError, match="max_lifetime=120s"):
        verify_token(_signed(exp=int(NOW) + 121), SECRET, now=NOW, policy=policy)
    assert verify_token(_signed(exp=int(NOW) + 120), SECRET, now=NOW, policy=policy).sub == USER


@pytest.mark.parametrize(
    ("claim", "value"),
    [("nbf", "soon"), ("exp", 10**400), ("iat", True), ("nbf", 1e300)],
)
def test_time_claims_that_are_not_times_are_invalid(claim: str, value: object) -> None:
    with pytest.raises(AuthError, match=f"invalid claim '{claim}'"):
        verify_token(_signed(**{claim: value}), SECRET, now=NOW)


@pytest.mark.parametrize("options", [{"leeway": -1}, {"max_lifetime": float("nan")}])
def test_token_policy_refuses_bad_values(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be a number of seconds >= 0"):
        TokenPolicy(**options)
