from __future__ import annotations

import inspect
import random
import warnings

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

import harness.users
from harness.errors import UsageError
from harness.model import SimUser
from harness.users import (
    CANARY_PATTERN,
    DEFAULT_ISSUED_AT,
    DEFAULT_JWT_SECRET,
    DEFAULT_TOKEN_TTL,
    EMAIL_PATTERN,
    RUN_ID_PATTERN,
    THREAD_ID_PATTERN,
    USER_ID_PATTERN,
    UserFactory,
)

LONG_SECRET = "a-signing-secret-of-at-least-32-bytes"
PLACEHOLDERS = ("test", "demo", "mock", "default", "none", "null", "undefined")


@pytest.fixture(scope="module")
def many_users() -> tuple[SimUser, ...]:
    return UserFactory(random.Random(2024)).users(10_000)


def test_all_lists_the_public_names() -> None:
    imported = {
        "SimUser",
        "UsageError",
        "Faker",
        "InsecureKeyLengthWarning",
        "annotations",
        "dataclass",
    }
    public = {
        name
        for name, value in vars(harness.users).items()
        if not name.startswith("_") and name not in imported and not inspect.ismodule(value)
    }
    assert set(harness.users.__all__) == public


def test_same_seed_same_users_different_seed_different_users() -> None:
    first = UserFactory(random.Random(5)).users(20)
    again = UserFactory(random.Random(5)).users(20)
    other = UserFactory(random.Random(6)).users(20)
    assert first == again
    assert {u.user_id for u in first}.isdisjoint({u.user_id for u in other})
    assert [u.token for u in first] == [u.token for u in again]


def test_id_shapes(many_users: tuple[SimUser, ...]) -> None:
    factory = UserFactory(random.Random(1))
    assert RUN_ID_PATTERN.fullmatch(factory.run_id())
    assert CANARY_PATTERN.fullmatch(factory.canary())
    for user in many_users:
        assert USER_ID_PATTERN.fullmatch(user.user_id), user.user_id
        assert len(user.thread_ids) == 2
        assert all(THREAD_ID_PATTERN.fullmatch(t) for t in user.thread_ids), user.thread_ids
        assert len(user.canaries) == 3
        assert all(CANARY_PATTERN.fullmatch(c) for c in user.canaries), user.canaries
        assert EMAIL_PATTERN.fullmatch(user.email), user.email
        assert user.email.isascii() and user.email == user.email.lower()
        assert user.display_name and user.company


def test_no_two_users_share_anything(many_users: tuple[SimUser, ...]) -> None:
    owner: dict[str, str] = {}
    for user in many_users:
        for value in (user.user_id, *user.thread_ids, *user.canaries, user.email, user.token):
            assert owner.setdefault(value, user.user_id) == user.user_id, value
    expected = len(many_users) * (1 + 2 + 3 + 1 + 1)
    assert len(owner) == expected


def test_ids_never_spell_placeholders(many_users: tuple[SimUser, ...]) -> None:
    for user in many_users[:2000]:
        for value in (user.user_id, *user.thread_ids, *user.canaries):
            assert not any(word in value.lower() for word in PLACEHOLDERS), value


def test_run_ids_and_canaries_are_unique_within_a_factory() -> None:
    factory = UserFactory(random.Random(3))
    users = factory.users(50)
    runs = [factory.run_id() for _ in range(5_000)]
    canaries = [factory.canary() for _ in range(5_000)]
    assert len(set(runs)) == len(runs)
    assert set(canaries).isdisjoint(c for u in users for c in u.canaries)
    assert len(set(canaries)) == len(canaries)


def test_collisions_are_redrawn() -> None:
    class Repeating(random.Random):
        """Returns the same bits twice before moving on."""

        def __init__(self) -> None:
            super().__init__(0)
            self.calls = 0

        def getrandbits(self, k: int) -> int:
            self.calls += 1
            return (self.calls // 2) % (1 << k)

    factory = UserFactory(Repeating())
    runs = [factory.run_id() for _ in range(10)]
    assert len(set(runs)) == 10


def test_token_decodes_with_the_secret_and_has_the_four_claims() -> None:
    user = UserFactory(random.Random(9), jwt_secret=LONG_SECRET, issued_at=1_000).user()
    claims = jwt.decode(
        user.token, LONG_SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert set(claims) == {"sub", "iat", "exp", "jti"}
    assert claims["sub"] == user.user_id
    assert claims["iat"] == 1_000
    assert claims["exp"] == 1_000 + DEFAULT_TOKEN_TTL
    assert isinstance(claims["jti"], str) and len(claims["jti"]) == 16
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(user.token, "x" * 40, algorithms=["HS256"], options={"verify_exp": False})


def test_default_secret_signs_tokens_quietly() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        user = UserFactory(random.Random(9)).user()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        claims = jwt.decode(
            user.token, DEFAULT_JWT_SECRET, algorithms=["HS256"], options={"verify_exp": False}
        )
    assert claims["iat"] == DEFAULT_ISSUED_AT


def test_thread_and_canary_counts_are_respected() -> None:
    user = UserFactory(random.Random(4)).user(threads=1, canaries=5)
    assert len(user.thread_ids) == 1
    assert len(set(user.canaries)) == 5


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda f: f.user(threads=0), "threads=0"),
        (lambda f: f.user(canaries=-1), "canaries=-1"),
        (lambda f: f.users(-2), "n=-2"),
        (lambda f: f.users(True), "n=True"),
    ],
)
def test_bad_counts_name_the_value(call: object, name: str) -> None:
    factory = UserFactory(random.Random(0))
    with pytest.raises(UsageError, match=name):
        call(factory)  # type: ignore[operator]


def test_rng_must_be_a_random() -> None:
    with pytest.raises(UsageError, match=r"rng=7 \(type int\)"):
        UserFactory(7)  # type: ignore[arg-type]


def test_users_zero_is_empty() -> None:
    assert UserFactory(random.Random(0)).users(0) == ()
