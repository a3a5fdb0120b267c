"""Two simulated users with fixed tokens, shared by the walker's tests."""

from __future__ import annotations

from harness.model import SimUser

A_ID = "usr_aaaaaaaaaaaa"
B_ID = "usr_bbbbbbbbbbbb"
A_CANARY = "cnry_aaaaaaaaaaaaaaaa"
B_CANARY = "cnry_bbbbbbbbbbbbbbbb"
A_RUN = "run_aaaaaaaaaaaa"
B_RUN = "run_bbbbbbbbbbbb"


def make_user(letter: str) -> SimUser:
    """A user whose ids, thread and canary repeat ``letter`` (``a`` -> ``usr_aaaaaaaaaaaa``)."""
    return SimUser(
        user_id=f"usr_{letter * 12}",
        thread_ids=(f"thread_{letter * 12}",),
        email=f"{letter}@example.org",
        display_name=letter,
        canaries=(f"cnry_{letter * 16}",),
    )
