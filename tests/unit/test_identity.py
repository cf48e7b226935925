"""GB 11643-1999 ID numbers, names, and the hashes WeChat uses."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.people import ALICE, make_id
from wxface.api.models import ID_CARD_NUMBER_PATTERN, NAME_PATTERN
from wxface.identity import (
    InvalidIdentity,
    cert_hash,
    id_card_check_char,
    id_card_number_md5,
    is_valid_out_seq_no,
    name_utf8_md5,
    new_out_seq_no,
    normalize_id_card_number,
    normalize_name,
)

TODAY = dt.date(2026, 11, 28)

valid_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
region = st.text(alphabet=string.digits, min_size=6, max_size=6)
seq = st.text(alphabet=string.digits, min_size=3, max_size=3)


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    born = draw(valid_dates)
    return make_id(draw(region), born.strftime("%Y%m%d"), draw(seq))


# --- ID numbers ---------------------------------------------------------------------------------


def test_known_check_digits() -> None:
    # The standard's own worked example, and one whose check character is X.
    assert id_card_check_char("11010519491231002") == "X"
    assert id_card_check_char("44052418800101001") == "4"


@given(valid_ids())
@settings(max_examples=200)
def test_every_valid_number_is_accepted_unchanged(number: str) -> None:
    assert normalize_id_card_number(number, today=TODAY) == number


@given(valid_ids(), st.sampled_from("0123456789X"))
@settings(max_examples=200)
def test_any_other_check_character_is_refused(number: str, other: str) -> None:
    if other == number[-1]:
        return
    with pytest.raises(InvalidIdentity) as err:
        normalize_id_card_number(number[:-1] + other, today=TODAY)
    assert err.value.reason == "check_digit"


@given(valid_ids(), st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
@settings(max_examples=200)
def test_any_single_digit_change_is_detected(number: str, pos: int, delta: int) -> None:
    changed = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    with pytest.raises(InvalidIdentity):
        normalize_id_card_number(changed, today=TODAY)


def test_lower_case_x_and_full_width_and_spaces_are_normalised() -> None:
    number = ALICE[1]
    assert number.endswith("X")
    assert normalize_id_card_number(number.lower(), today=TODAY) == number
    assert normalize_id_card_number(f"  {number}\n", today=TODAY) == number
    full_width = number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    assert normalize_id_card_number(full_width, today=TODAY) == number


def test_fifteen_digit_numbers_are_refused_with_the_reason() -> None:
    with pytest.raises(InvalidIdentity) as err:
        normalize_id_card_number("110105491231002", today=TODAY)
    assert err.value.reason == "first_generation"
    assert "15-digit" in err.value.message
    assert "15位" in err.value.message_zh


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "length"),
        ("1101051949123100", "length"),
        ("1101051949123100211", "length"),
        ("11010519491231002Y", "characters"),
        ("1101051949123100A2", "characters"),
        ("110105194902300021", "birth_date"),  # 30 February
        ("110105189912310021", "birth_date"),  # before 1900
    ],
)
def test_malformed_numbers_name_the_problem(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdentity) as err:
        normalize_id_card_number(raw, today=TODAY)
    assert err.value.reason == reason
    assert err.value.field == "id_card_number"


def test_a_birth_date_in_the_future_is_refused() -> None:
    tomorrow = TODAY + dt.timedelta(days=1)
    number = make_id("110105", tomorrow.strftime("%Y%m%d"), "001")
    with pytest.raises(InvalidIdentity) as err:
        normalize_id_card_number(number, today=TODAY)
    assert err.value.reason == "birth_date"
    assert normalize_id_card_number(make_id("110105", TODAY.strftime("%Y%m%d"), "001"), today=TODAY)


@given(
    st.text(alphabet=string.digits + "Xx", min_size=6, max_size=24) | valid_ids().map(lambda n: n[:-1] + "0")
)
@settings(max_examples=300)
def test_errors_never_echo_the_input(raw: str) -> None:
    try:
        normalize_id_card_number(raw, today=TODAY)
    except InvalidIdentity as err:
        shown = " ".join([str(err), repr(err), err.message, err.message_zh, repr(err.args)])
        assert raw not in shown


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dot", ["·", "•", "‧", "・"])
def test_middle_dot_variants_fold_to_u00b7(dot: str) -> None:
    assert normalize_name(f"阿沛{dot}阿旺晋美") == "阿沛·阿旺晋美"


def test_names_are_trimmed_nfc_and_spaces_collapsed() -> None:
    assert normalize_name("  张三 ") == "张三"
    decomposed = "Jose\u0301 Garci\u0301a"
    assert normalize_name(decomposed) == "Jos\u00e9 Garc\u00eda"
    assert normalize_name("Anna   Maria\tLee") == "Anna Maria Lee"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("张", "length"),
        ("  ", "length"),
        ("张" * 65, "length"),
        ("张三3", "characters"),
        ("张三<script>", "characters"),
        ("张\u0000三", "characters"),
        ("·· ", "characters"),
        ("--", "characters"),
    ],
)
def test_unusable_names_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdentity) as err:
        normalize_name(raw)
    assert err.value.reason == reason
    assert err.value.field == "name"


def test_length_limits_are_inclusive() -> None:
    assert normalize_name("张三") == "张三"
    assert normalize_name("张" * 64) == "张" * 64


names = st.text(
    alphabet=st.characters(categories=("Lo", "Lu", "Ll"), max_codepoint=0x9FFF) | st.sampled_from("·•‧・ "),
    min_size=0,
    max_size=80,
)


@given(names)
@settings(max_examples=300)
def test_normalising_a_name_is_idempotent_and_bounded(raw: str) -> None:
    try:
        once = normalize_name(raw)
    except InvalidIdentity:
        return
    assert normalize_name(once) == once
    assert 2 <= len(once) <= 64
    assert once == once.strip()
    assert not set("•‧・") & set(once)
    assert any(c.isalpha() for c in once)


# --- hashes -------------------------------------------------------------------------------------


def test_cert_hash_reproduces_wechats_example() -> None:
    # From WeChat's 2.0 docs (the number fails the check digit: cert_hash takes raw strings).
    assert (
        cert_hash("IDENTITY_CARD", "张三", "310101199801011234")
        == "3c241f7ff324977aeb91f173bb2a7b06569e6fd784d5573db34a636d8671108b"
    )


@given(st.text(), st.text(), st.text())
@settings(max_examples=100)
def test_cert_hash_is_lower_hex_sha256_of_the_b64_fields(t: str, n: str, c: str) -> None:
    import base64

    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    expected = hashlib.sha256(f"cert_type={b64(t)}&cert_name={b64(n)}&cert_no={b64(c)}".encode()).hexdigest()
    assert cert_hash(t, n, c) == expected
    assert re.fullmatch(r"[0-9a-f]{64}", expected)


def test_id_md5_upper_cases_a_final_x() -> None:
    number = ALICE[1]
    expected = hashlib.md5(number.encode()).hexdigest()
    assert id_card_number_md5(number) == expected
    assert id_card_number_md5(number.lower()) == expected


def test_name_md5_is_of_utf8_bytes() -> None:
    assert name_utf8_md5("张三") == hashlib.md5("张三".encode()).hexdigest()


def test_out_seq_numbers_are_valid_and_unique() -> None:
    seen = {new_out_seq_no() for _ in range(2000)}
    assert len(seen) == 2000
    assert all(is_valid_out_seq_no(s) and len(s) == 32 for s in seen)


@given(st.text(max_size=40))
@settings(max_examples=300)
def test_out_seq_no_validator_matches_the_rule(value: str) -> None:
    expected = 5 <= len(value) <= 32 and all(c in string.ascii_letters + string.digits + "_-" for c in value)
    assert is_valid_out_seq_no(value) is expected


@pytest.mark.parametrize(
    ("raw_name", "raw_number"),
    [
        ("张三", "110105194912310"),  # 15 digits: first generation
        ("张三", "1101051949123100"),  # length
        ("张三", "11010519491231002Y"),  # characters
        ("张三", "110105194902300028"),  # impossible birth date
        ("张三", "110105180012310028"),  # implausible birth date
        ("张三", "110105194912310021"),  # check digit
        ("张", "11010519491231002X"),  # name too short
        ("张三3", "11010519491231002X"),  # name characters
        ("··", "11010519491231002X"),  # no letters
    ],
)
def test_every_identity_error_reads_as_a_sentence_naming_its_field(raw_name: str, raw_number: str) -> None:
    """What the API answers (and the mini-program shows) is a whole sentence in each language,
    naming the field, never a fragment glued to a field name."""
    from wxface.api.errors import from_identity

    def validate() -> None:
        normalize_name(raw_name)
        normalize_id_card_number(raw_number, today=dt.date(2026, 11, 30))

    with pytest.raises(InvalidIdentity) as caught:
        validate()
    err = from_identity(caught.value)
    assert err.message[0].isupper() or err.message[0].isdigit(), err.message
    assert ("ID card number" in err.message) or ("name" in err.message), err.message
    assert ("身份证" in err.message_zh) or ("姓名" in err.message_zh), err.message_zh
    assert "  " not in err.message and not err.message.endswith((".", " "))


@given(st.from_regex(NAME_PATTERN, fullmatch=True))
@settings(max_examples=300)
def test_every_name_the_schema_admits_the_identity_rules_accept(name: str) -> None:
    """The OpenAPI document is never more lenient than the API: a schema-valid name (2-64
    characters) is a valid name."""
    if 2 <= len(name) <= 64:
        assert normalize_name(name) == name


@given(st.from_regex(ID_CARD_NUMBER_PATTERN, fullmatch=True))
@settings(max_examples=300)
def test_a_schema_valid_id_number_is_refused_only_for_what_a_schema_cannot_say(number: str) -> None:
    """Only the check character and the calendar (a day that exists, not in the future) are
    beyond JSON Schema; with those put right, every schema-valid number is accepted."""
    born = number[6:14]
    try:
        date_ok = dt.date(int(born[:4]), int(born[4:6]), int(born[6:])) <= dt.date(2026, 11, 30)
    except ValueError:
        date_ok = False
    fixed = number[:17] + id_card_check_char(number[:17])
    if date_ok:
        assert normalize_id_card_number(fixed, today=dt.date(2026, 11, 30)) == fixed
