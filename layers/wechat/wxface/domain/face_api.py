"""What differs between WeChat's face API 1.0 and 2.0 when a key is issued, in one small object
per version, so that issuing a key reads the same for both.

- 1.0 (``getuseridkey``): the key is a ``user_id_key``; the record keeps HMACs of the MD5s of the
  ID number and the name that ``getinfo`` answers later, to check the result's identity.
- 2.0 (``getverifyid``): the key is a ``verify_id``; the record keeps what ``queryverifyinfo``
  must send back (``out_seq_no``, and ``cert_hash`` sealed: a SHA-256 of a name and an ID number
  is reversed by brute force in seconds), and the 2.0 sweep gets a pending check; a key from an
  order also carries the sealed ticket of the order's photo route (``getimage``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..answers import KeyAnswerV1, KeyAnswerV2
from ..identity import CERT_TYPE_IDENTITY_CARD, cert_hash, id_card_number_md5, name_utf8_md5
from .orders import photo_bound_to
from .stack_keys import DataKey, SealingKey, sha256_hex
from .wechat_calls import WeChatCalls


@dataclass(frozen=True)
class NewKey:
    """A key WeChat issued, as this stack answers and keeps it."""

    ref: str  # the SHA-256 of the key: its record's reference
    expires_in: int
    answer: KeyAnswerV1 | KeyAnswerV2
    binding: Mapping[str, str] = field(default_factory=dict)  # kept on the key record (hashed or sealed)
    photo_ticket: str | None = None  # 2.0, from an order: getimage's parameters, sealed
    pending: str | None = None  # 2.0: what the sweep needs (the openid, the verify_id), sealed


class FaceApi(Protocol):
    def new_key(
        self, wechat: WeChatCalls, name: str, number: str, openid: str, *, order_id: str | None
    ) -> NewKey:
        """Ask WeChat for a key for ``openid`` to check the identity (``order_id``: the order it
        is issued from)."""
        ...


@dataclass(frozen=True)
class FaceApiV1:
    data_key: DataKey

    def new_key(
        self, wechat: WeChatCalls, name: str, number: str, openid: str, *, order_id: str | None
    ) -> NewKey:
        issued = wechat.get_user_id_key(name, number)
        return NewKey(
            sha256_hex(issued.user_id_key),
            issued.expires_in,
            KeyAnswerV1(user_id_key=issued.user_id_key, expires_in=issued.expires_in),
            {
                "id_mac": self.data_key.mac("id_md5", id_card_number_md5(number)),
                "name_mac": self.data_key.mac("name_md5", name_utf8_md5(name)),
            },
        )


@dataclass(frozen=True)
class FaceApiV2:
    sealing_key: Callable[[], SealingKey]
    order_key: Callable[[], SealingKey] | None = None  # seals an order's photo ticket

    def new_key(
        self, wechat: WeChatCalls, name: str, number: str, openid: str, *, order_id: str | None
    ) -> NewKey:
        issued = wechat.get_verify_id(name, number, openid)
        ref = sha256_hex(issued.verify_id)
        the_cert_hash = cert_hash(CERT_TYPE_IDENTITY_CARD, name, number)
        sealing = self.sealing_key()
        photo_ticket = None
        if order_id is not None and self.order_key is not None:
            ticket = {
                "verify_id": issued.verify_id,
                "out_seq_no": issued.out_seq_no,
                "cert_hash": the_cert_hash,
                "openid": openid,
            }
            photo_ticket = self.order_key().seal(json.dumps(ticket), bound_to=photo_bound_to(order_id))
        return NewKey(
            ref,
            issued.expires_in,
            KeyAnswerV2(verify_id=issued.verify_id, expires_in=issued.expires_in),
            {"out_seq_no": issued.out_seq_no, "cert_hash": sealing.seal(the_cert_hash, bound_to=ref)},
            photo_ticket=photo_ticket,
            # If the mini-program never looks the result up (the app was closed), the sweep does:
            # it needs the openid and the verify_id, which the table keeps nowhere else.
            pending=sealing.seal(
                json.dumps({"openid": openid, "verify_id": issued.verify_id}), bound_to=f"pending:{ref}"
            ),
        )


def face_api(
    version: Literal[1, 2],
    data_key: DataKey,
    sealing_key: Callable[[], SealingKey],
    order_key: Callable[[], SealingKey] | None,
) -> FaceApi:
    return FaceApiV1(data_key) if version == 1 else FaceApiV2(sealing_key, order_key)
