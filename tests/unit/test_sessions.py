"""Session tokens: bound to the openid, short-lived, verified with current or previous keys."""

from __future__ import annotations

import time

import pytest

from wxface.api.errors import ApiError, from_domain
from wxface.api.http import bearer_token
from wxface.domain.errors import DomainError
from wxface.domain.sessions import issue_session, verify_session
from wxface.domain.stack_keys import SigningKey

CURRENT = SigningKey("k2", b"c" * 32)
PREVIOUS = SigningKey("k1", b"p" * 32)


def code_of(token: str, keys: tuple[SigningKey, ...]) -> str:
    with pytest.raises(DomainError) as err:
        verify_session(token, keys)
    mapped = from_domain(err.value)
    assert mapped.status == 401
    return mapped.code


def test_a_token_names_its_openid() -> None:
    token = issue_session("o-1", (CURRENT,), 3600)
    assert verify_session(token, (CURRENT,)) == "o-1"


def test_expired_tokens_say_so() -> None:
    token = issue_session("o-1", (CURRENT,), 60, now=time.time() - 120)
    assert code_of(token, (CURRENT,)) == "session_expired"


def test_tokens_signed_with_the_previous_key_stay_valid_after_rotation() -> None:
    old = issue_session("o-1", (PREVIOUS,), 3600)
    assert verify_session(old, (CURRENT, PREVIOUS)) == "o-1"
    assert code_of(old, (CURRENT,)) == "unauthorized"  # once the previous key is dropped


def test_forged_and_malformed_tokens_are_refused() -> None:
    forged = issue_session("o-victim", (SigningKey("k2", b"x" * 32),), 3600)
    assert code_of(forged, (CURRENT,)) == "unauthorized"
    assert code_of("a.b.c", (CURRENT,)) == "unauthorized"
    assert code_of("", (CURRENT,)) == "unauthorized"
    header, _payload, sig = issue_session("o-1", (CURRENT,), 3600).split(".")
    other_payload = issue_session("o-2", (CURRENT,), 3600).split(".")[1]
    assert code_of(f"{header}.{other_payload}.{sig}", (CURRENT,)) == "unauthorized"


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"authorization": "Bearer abc"}, True),
        ({"Authorization": "bearer abc"}, True),
        ({"authorization": "Basic abc"}, False),
        ({"authorization": "Bearer "}, False),
        ({}, False),
    ],
)
def test_bearer_header_parsing(headers: dict[str, str], ok: bool) -> None:
    if ok:
        assert bearer_token(headers) == "abc"
    else:
        with pytest.raises(ApiError):
            bearer_token(headers)


def test_signing_keys_never_show_their_secret() -> None:
    assert "ccc" not in repr(CURRENT)


def test_a_verified_token_remembered_by_the_container_still_expires() -> None:
    t0 = time.time()
    token = issue_session("o-cache", (CURRENT,), 60, now=t0)
    assert verify_session(token, (CURRENT,), now=t0 + 1) == "o-cache"  # verified, remembered
    assert verify_session(token, (CURRENT,), now=t0 + 59) == "o-cache"  # from memory
    with pytest.raises(DomainError) as err:
        verify_session(token, (CURRENT,), now=t0 + 60)
    assert from_domain(err.value).code == "session_expired"


def test_a_remembered_token_whose_key_was_retired_is_refused() -> None:
    token = issue_session("o-cache", (PREVIOUS,), 3600)
    assert verify_session(token, (CURRENT, PREVIOUS)) == "o-cache"
    assert code_of(token, (CURRENT,)) == "unauthorized"


def test_only_the_exact_verified_string_is_remembered() -> None:
    token = issue_session("o-cache", (CURRENT,), 3600)
    assert verify_session(token, (CURRENT,)) == "o-cache"
    head, body, signature = token.split(".")
    forged = ".".join((head, body, ("A" if signature[0] != "A" else "B") + signature[1:]))
    assert code_of(forged, (CURRENT,)) == "unauthorized"
