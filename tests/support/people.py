"""Test identities. Every name and ID number a test sends lives here, so privacy tests can
search logs for all of them."""

from __future__ import annotations

from wxface.identity import id_card_check_char


def make_id(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + id_card_check_char(body)


# (name, id_card_number): valid GB 11643 numbers with made-up regions and dates.
ALICE = ("张三丰", make_id("110105", "19491231", "002"))  # check char happens to be X
BOB = ("阿沛·阿旺晋美", make_id("540102", "19100215", "013"))
CAROL = ("李小龙", make_id("440304", "19871127", "045"))
DAVE = ("欧阳娜娜", make_id("310101", "20000101", "123"))
ERIN = ("王五", make_id("320311", "19900520", "777"))

PEOPLE = (ALICE, BOB, CAROL, DAVE, ERIN)
