from __future__ import annotations

import pytest

from harness.model import SimUser
from harness.observe import tokens
from harness.observe.tokens import TokenCollisionError, TokenIndex

JWT_A = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfYWFhIn0.c2lnbmF0dXJlX2E"
JWT_B = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfYmJiIn0.c2lnbmF0dXJlX2I"


def make_user(letter: str, *, email: str | None = None, token: str = "") -> SimUser:
    return SimUser(
        user_id=f"usr_{letter * 12}",
        thread_ids=(f"thread_{letter * 12}", f"thread_{letter * 11}0"),
        email=email if email is not None else f"{letter}.smith@example.org",
        display_name=letter.upper(),
        canaries=(f"cnry_{letter * 16}", f"cnry_{letter * 15}1"),
        token=token,
    )


@pytest.fixture
def index() -> TokenIndex:
    users = [make_user("a", token=JWT_A), make_user("b", token=JWT_B)]
    return TokenIndex.build(users, runs=[("usr_aaaaaaaaaaaa", "run_aaaaaaaaaaaa")])


def test_public_names() -> None:
    assert tokens.__all__ == [
        "TOKEN_KINDS",
        "TokenCollisionError",
        "TokenIndex",
        "forget_simulated",
        "remember_simulated",
        "simulated_owners",
    ]


def test_owner_and_kind_of_every_token(index: TokenIndex) -> None:
    expected = {
        "usr_aaaaaaaaaaaa": "user_id",
        "thread_aaaaaaaaaaaa": "thread_id",
        "thread_aaaaaaaaaaa0": "thread_id",
        "run_aaaaaaaaaaaa": "run_id",
        "cnry_aaaaaaaaaaaaaaaa": "canary",
        "cnry_aaaaaaaaaaaaaaa1": "canary",
        "a.smith@example.org": "email",
        JWT_A: "token",
    }
    for token, kind in expected.items():
        assert index.owner(token) == "usr_aaaaaaaaaaaa", token
        assert index.kind(token) == kind, token
    assert index.owner("cnry_bbbbbbbbbbbbbbbb") == "usr_bbbbbbbbbbbb"
    assert index.owner("cnry_cccccccccccccccc") is None
    assert index.kind("hello") is None
    assert len(index) == 15  # 8 of a, 7 of b (b has no run)
    assert index.tokens_of("usr_bbbbbbbbbbbb")[0] == "usr_bbbbbbbbbbbb"
    assert index.owners() == ("usr_aaaaaaaaaaaa", "usr_bbbbbbbbbbbb")


def test_add_run_later(index: TokenIndex) -> None:
    assert index.scan("x run_bbbbbbbbbbbb y") == []
    index.add_run("usr_bbbbbbbbbbbb", "run_bbbbbbbbbbbb")
    index.add_run("usr_bbbbbbbbbbbb", "run_bbbbbbbbbbbb")  # idempotent
    # The same text again: a remembered verdict must not survive the new token.
    assert index.scan("x run_bbbbbbbbbbbb y") == [("run_bbbbbbbbbbbb", "usr_bbbbbbbbbbbb")]
    assert index.has_any("x run_bbbbbbbbbbbb y")
    assert index.kind("run_bbbbbbbbbbbb") == "run_id"


def test_scan_finds_embedded_tokens_in_order_without_duplicates(index: TokenIndex) -> None:
    text = (
        "hello cnry_bbbbbbbbbbbbbbbb! then usr_aaaaaaaaaaaa,"
        "xcnry_aaaaaaaaaaaaaaaay and again cnry_bbbbbbbbbbbbbbbb"
    )
    assert index.scan(text) == [
        ("cnry_bbbbbbbbbbbbbbbb", "usr_bbbbbbbbbbbb"),
        ("usr_aaaaaaaaaaaa", "usr_aaaaaaaaaaaa"),
        ("cnry_aaaaaaaaaaaaaaaa", "usr_aaaaaaaaaaaa"),
    ]
    assert index.has_any(text)


def test_scan_results_are_copies(index: TokenIndex) -> None:
    first = index.scan("usr_aaaaaaaaaaaa")
    first.clear()
    assert index.scan("usr_aaaaaaaaaaaa") == [("usr_aaaaaaaaaaaa", "usr_aaaaaaaaaaaa")]


def test_scan_ignores_unknown_and_near_miss_strings(index: TokenIndex) -> None:
    for text in (
        "",
        "plain text without anything",
        "usr_cccccccccccc",
        "cnry_aaaaaaaaaaaaaaa",  # one hex short
        "thread_AAAAAAAAAAAA",  # upper case is not the shape
        "someone@example.org",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.other",
    ):
        assert index.scan(text) == [], text
        assert not index.has_any(text), text


def test_hex_run_on_still_finds_the_id_prefix(index: TokenIndex) -> None:
    # A generated id followed by more hex: the fixed-length shape still isolates it.
    assert index.scan("usr_aaaaaaaaaaaaffff") == [("usr_aaaaaaaaaaaa", "usr_aaaaaaaaaaaa")]


def test_emails_found_inside_text_and_swallowed_context(index: TokenIndex) -> None:
    assert index.scan("mail a.smith@example.org.") == [("a.smith@example.org", "usr_aaaaaaaaaaaa")]
    assert index.scan("<b.smith@example.org>") == [("b.smith@example.org", "usr_bbbbbbbbbbbb")]
    # The email regex swallows neighbouring word characters; the index trims them back.
    assert index.scan("xb.smith@example.org.uk") == [("b.smith@example.org", "usr_bbbbbbbbbbbb")]
    # An id glued to an email is still found on its own.
    assert index.scan("usr_aaaaaaaaaaaa.b.smith@example.org") == [
        ("usr_aaaaaaaaaaaa", "usr_aaaaaaaaaaaa"),
        ("b.smith@example.org", "usr_bbbbbbbbbbbb"),
    ]


def test_jwts_found_embedded(index: TokenIndex) -> None:
    text = f'{{"authorization": "Bearer {JWT_B}"}}'
    assert index.scan(text) == [(JWT_B, "usr_bbbbbbbbbbbb")]
    assert index.kind(JWT_B) == "token"
    assert index.scan(f"{JWT_A}.") == [(JWT_A, "usr_aaaaaaaaaaaa")]


def test_hand_made_tokens_of_odd_shapes_use_the_fallback() -> None:
    odd = SimUser(
        user_id="alice",
        thread_ids=("t-1",),
        email="alice-at-home",
        display_name="Alice",
        canaries=("SECRET-ALICE", "SECRET-ALICE-2"),
    )
    shaped = make_user("b")
    index = TokenIndex.build([odd, shaped])
    assert index.needs_full_scan
    # No "_", "@" or "eyJ" in the text: the fallback must still look.
    assert index.scan("leaked SECRET-ALICE-2 and SECRET-ALICE here") == [
        ("SECRET-ALICE-2", "alice"),
        ("SECRET-ALICE", "alice"),
    ]
    assert index.scan("xxaliceyy") == [("alice", "alice")]
    assert index.scan("t-1 cnry_bbbbbbbbbbbbbbbb") == [
        ("t-1", "alice"),
        ("cnry_bbbbbbbbbbbbbbbb", "usr_bbbbbbbbbbbb"),
    ]
    assert index.kind("t-1") == "thread_id"
    assert not index.has_any("bob only")


def test_shaped_only_index_does_not_need_full_scan(index: TokenIndex) -> None:
    assert not index.needs_full_scan


def test_regex_special_characters_in_hand_made_tokens() -> None:
    user = SimUser(
        user_id="u(1)",
        thread_ids=(),
        email="a+b@x",
        display_name="",
        canaries=("c.*",),
    )
    index = TokenIndex.build([user])
    assert index.scan("c.* u(1) a+b@x") == [("c.*", "u(1)"), ("u(1)", "u(1)"), ("a+b@x", "u(1)")]
    assert index.scan("cxx u1") == []


def test_collisions_keep_the_first_owner_or_raise_when_strict() -> None:
    a = make_user("a", email="same@example.org")
    b = make_user("b", email="same@example.org")
    index = TokenIndex.build([a, b])
    assert index.owner("same@example.org") == "usr_aaaaaaaaaaaa"
    assert index.collisions() == (("same@example.org", "usr_aaaaaaaaaaaa", "usr_bbbbbbbbbbbb"),)
    with pytest.raises(TokenCollisionError, match=r"token='same@example.org'.*usr_bbbbbbbbbbbb"):
        TokenIndex.build([a, b], strict=True)


def test_empty_token_fields_are_not_indexed() -> None:
    index = TokenIndex.build([make_user("a")])  # token=""
    assert "" not in index
    assert index.scan("anything at all") == []


def test_scan_scales_to_ten_thousand_users() -> None:
    users = [
        SimUser(
            user_id=f"usr_{n:012x}",
            thread_ids=(f"thread_{n:012x}",),
            email=f"user{n}@example.org",
            display_name="",
            canaries=(f"cnry_{n:016x}",),
        )
        for n in range(10_000)
    ]
    index = TokenIndex.build(
        users, runs=[(u.user_id, f"run_{n:012x}") for n, u in enumerate(users)]
    )
    assert len(index) == 50_000
    filler = "lorem ipsum usr_ffffffffffff dolor " * 5_000
    text = filler + "cnry_0000000000000fff user77@example.org" + filler
    assert index.scan(text) == [
        ("cnry_0000000000000fff", "usr_000000000fff"),
        ("user77@example.org", "usr_00000000004d"),
    ]
