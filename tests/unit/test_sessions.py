"""Session tokens: bound to the openid, short-lived, verified with current or previous keys."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wxface.api.errors import ApiError, from_domain
from wxface.api.http import bearer_token
from wxface.domain.errors import DomainError
from wxface.domain.sessions import ISSUER, Session, SessionVerifier, VerifiedTokens, issue_session
from wxface.domain.sessions import verify_session as verify_with_ttl
from wxface.domain.stack_keys import SigningKey

CURRENT = SigningKey("k2", b"c" * 32)
PREVIOUS = SigningKey("k1", b"p" * 32)


TTL = 3600


VERIFIED = VerifiedTokens()  # one container's memory of the tokens it verified


def verify_session(token: str, keys: tuple[SigningKey, ...], now: float | None = None) -> str:
    """The openid, as the API's edge verifies with this stack's session TTL."""
    return verify_with_ttl(token, keys, max_ttl_s=TTL, now=now, verified=VERIFIED).openid


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


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": "wxface-session", "sub": "o-1", "iat": now, "exp": now + 600, **overrides}


def signed(payload: dict[str, object], key: SigningKey = CURRENT) -> str:
    import jwt

    return jwt.encode(payload, key.secret, algorithm="HS256", headers={"kid": key.kid})


def test_a_session_says_when_its_token_was_issued() -> None:
    token = issue_session("o-1", (CURRENT,), TTL, now=1_800_000_000)
    assert verify_with_ttl(token, (CURRENT,), max_ttl_s=TTL, now=1_800_000_001) == Session(
        "o-1", 1_800_000_000
    )


def test_a_session_carries_the_erasure_epoch_it_was_issued_under() -> None:
    token = issue_session("o-1", (CURRENT,), TTL, now=1_800_000_000, epoch=3)
    assert verify_with_ttl(token, (CURRENT,), max_ttl_s=TTL, now=1_800_000_001) == Session(
        "o-1", 1_800_000_000, 3
    )
    assert verify_with_ttl(token, (CURRENT,), max_ttl_s=TTL, now=1_800_000_002).epoch == 3  # remembered
    legacy = signed({k: v for k, v in claims().items() if k != "ep"})  # issued before the epoch
    assert verify_with_ttl(legacy, (CURRENT,), max_ttl_s=TTL).epoch == 0


@pytest.mark.parametrize("epoch", [-1, True, "2", 1.5, None])
def test_a_token_with_a_malformed_epoch_is_refused(epoch: object) -> None:
    assert code_of(signed(claims(ep=epoch)), (CURRENT,)) == "unauthorized"


def test_a_signer_with_a_leaked_key_cannot_mint_long_lived_or_future_tokens() -> None:
    """The verifier bounds the lifetime, whatever the signer wrote: a year-long token minted with
    a stolen key is refused, as is one dated in the future; one within the TTL and skew passes."""
    now = int(time.time())
    assert code_of(signed(claims(exp=now + 365 * 86400)), (CURRENT,)) == "unauthorized"
    assert code_of(signed(claims(iat=now + 3600, exp=now + 3600 + 600)), (CURRENT,)) == "unauthorized"
    assert verify_session(signed(claims(exp=now + TTL + 30)), (CURRENT,)) == "o-1"  # within the skew


@pytest.mark.parametrize("bad", [{"iss": "someone-else"}, {"iss": None}, {"aud": "other"}])
def test_tokens_must_carry_this_stacks_issuer_and_audience(bad: dict[str, object]) -> None:
    payload = {k: v for k, v in claims(**bad).items() if v is not None}
    assert code_of(signed(payload), (CURRENT,)) == "unauthorized"


class Keys:
    """A signing key set as SSM holds it, read through a cache as the container does."""

    def __init__(self, *keys: SigningKey) -> None:
        self.stored = keys
        self.cached = keys
        self.reads = 0

    def __call__(self, force: bool) -> tuple[SigningKey, ...]:
        if force:
            self.reads += 1
            self.cached = self.stored
        return self.cached


def test_after_an_emergency_rotation_new_tokens_work_on_a_container_that_cached_the_old_set() -> None:
    keys = Keys(PREVIOUS)
    clock = [0.0]
    verifier = SessionVerifier(keys, max_ttl_s=TTL, reread_interval_s=10, clock=lambda: clock[0])
    old = issue_session("o-old", (PREVIOUS,), TTL)
    assert verifier(old) == Session("o-old", verify_with_ttl(old, (PREVIOUS,), max_ttl_s=TTL).issued_at)
    keys.stored = (CURRENT,)  # the rotator replaced the whole set
    new = issue_session("o-new", (CURRENT,), TTL)  # signed by a container that already read it
    assert verifier(new).openid == "o-new"  # this container re-read the set once
    assert keys.reads == 1
    assert code_of(old, keys.cached) == "unauthorized"  # and the old key's tokens are gone


def test_made_up_key_ids_cannot_turn_every_request_into_an_ssm_read() -> None:
    keys = Keys(CURRENT)
    clock = [0.0]
    verifier = SessionVerifier(keys, max_ttl_s=TTL, reread_interval_s=10, clock=lambda: clock[0])
    for i in range(20):
        with pytest.raises(DomainError):
            verifier(signed(claims(), SigningKey(f"made-up-{i}", b"z" * 32)))
    assert keys.reads == 1
    clock[0] = 11
    with pytest.raises(DomainError):
        verifier(signed(claims(), SigningKey("made-up-again", b"z" * 32)))
    assert keys.reads == 2


def test_session_tokens_load_no_jwt_library_and_no_cryptography() -> None:
    """The sessions' HS256 is the standard library's hmac: a fresh process (as in Lambda) issues
    and verifies a token without importing PyJWT (about 35 ms of a first request) or
    ``cryptography``."""
    import subprocess
    import sys
    from pathlib import Path

    layer = Path(__file__).resolve().parents[2] / "layers" / "wechat"
    probe = (
        "import sys; from wxface.domain import sessions as s; from wxface.domain.stack_keys import SigningKey; "
        "k = (SigningKey('k', b'k' * 32),); t = s.issue_session('o', k, 60); "
        "assert s.verify_session(t, k, max_ttl_s=60).openid == 'o'; "
        "print('jwt' in sys.modules, 'cryptography' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(layer)},
    )
    assert out.stdout.strip() == "False False"


def test_a_token_verifies_with_pyjwt_and_pyjwts_token_verifies_here() -> None:
    """Standard HS256 JWS both ways, so tokens issued before and after the change (and by either
    side of a deployment in progress) are the same tokens."""
    import jwt

    ours = issue_session("o-both", (CURRENT,), 3600)
    claims = jwt.decode(ours, CURRENT.secret, algorithms=["HS256"], audience="wxface-session", issuer=ISSUER)
    assert claims["sub"] == "o-both" and jwt.get_unverified_header(ours)["kid"] == CURRENT.kid
    now = int(time.time())
    theirs = jwt.encode(
        {"iss": ISSUER, "aud": "wxface-session", "sub": "o-pyjwt", "iat": now, "exp": now + 600, "ep": 3},
        CURRENT.secret,
        algorithm="HS256",
        headers={"kid": CURRENT.kid},
    )
    assert verify_with_ttl(theirs, (CURRENT,), max_ttl_s=TTL) == Session("o-pyjwt", now, 3)


def test_only_hs256_is_accepted_whatever_the_header_says() -> None:
    import jwt

    now = int(time.time())
    body = {"iss": ISSUER, "aud": "wxface-session", "sub": "o-x", "iat": now, "exp": now + 600}
    for algorithm in ("HS384", "HS512"):
        other = jwt.encode(body, CURRENT.secret, algorithm=algorithm, headers={"kid": CURRENT.kid})
        assert code_of(other, (CURRENT,)) == "unauthorized"
    unsigned = jwt.encode(body, "", algorithm="none", headers={"kid": CURRENT.kid})
    assert code_of(unsigned, (CURRENT,)) == "unauthorized"
    header, payload, _ = issue_session("o-x", (CURRENT,), 600).split(".")
    assert code_of(f"{header}.{payload}.", (CURRENT,)) == "unauthorized"  # no signature
    assert code_of(f"{header}.{payload}", (CURRENT,)) == "unauthorized"  # two parts
    assert code_of(f"{header}.{payload}.x.y", (CURRENT,)) == "unauthorized"  # four
    assert code_of("x" * 5000, (CURRENT,)) == "unauthorized"  # longer than any token


@given(st.text(max_size=300))
def test_any_string_is_verified_or_refused_with_a_401_never_an_error(token: str) -> None:
    with pytest.raises(DomainError) as err:
        verify_with_ttl(token, (CURRENT,), max_ttl_s=TTL)
    assert from_domain(err.value).status == 401


@given(
    st.text(min_size=1, max_size=64),
    st.integers(min_value=0, max_value=2**31),
    st.sampled_from([PREVIOUS, CURRENT]),
)
def test_every_issued_session_verifies_as_itself(openid: str, epoch: int, key: SigningKey) -> None:
    token = issue_session(openid, (key,), 600, epoch=epoch)
    session = verify_with_ttl(token, (CURRENT, PREVIOUS), max_ttl_s=TTL)
    assert (session.openid, session.epoch) == (openid, epoch)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(DomainError):
        verify_with_ttl(tampered, (CURRENT, PREVIOUS), max_ttl_s=TTL)


def test_the_tokens_verified_belong_to_the_containers_verifier_not_the_module() -> None:
    """A new container (a new verifier) starts knowing no token; no module state carries over."""
    token = issue_session("o-own", (CURRENT,), 3600)
    first = SessionVerifier(lambda force: (CURRENT,), max_ttl_s=TTL)
    assert first(token).openid == "o-own" and first.verified.get(token) is not None
    second = SessionVerifier(lambda force: (CURRENT,), max_ttl_s=TTL)
    assert second.verified.get(token) is None
