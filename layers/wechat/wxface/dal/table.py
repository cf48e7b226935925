"""The product's one DynamoDB table (on-demand, TTL on ``ttl``).

Items (``pk`` / ``sk``); no name, ID number or openid is stored in clear:

- ``KEY#<sha256 of user_id_key or verify_id>`` / ``KEY``: what a lookup needs to bind a result
  (``owner``: HMAC of the openid; 1.0: HMACs of WeChat's MD5s; 2.0: ``out_seq_no``, ``cert_hash``).
- ``RESULT#<sha256 of verify_result or verify_id>`` / ``RESULT``: a final result, no identity.
- ``USER#<owner>`` / ``KEY#…`` and ``RESULT#…``: the user's index, for ``latest`` and erasure.
- ``RATE#<limit>#<subject>#<window>`` / ``RATE``: rate-limit counters (the subject an HMAC);
  ``RATE#quota#<endpoint>#<day>``: this stack's WeChat calls per endpoint per WeChat day.
- ``LOCK#<name>`` / ``LOCK``: short leases (the coordinated token refresh).
- ``AUDIT#<owner>`` / ``<ms>#<route>#<nonce>``: what happened, never to whom in clear
  (route, outcome, result code, time), kept ``AUDIT_RETENTION_DAYS``.
- ``IDEMPOTENCY#<owner>`` / ``<hash>``: Powertools Idempotency records of ``POST /v1/face/keys``
  (10 minutes; the key and the body enter only as HMACs).
- ``OUTBOX#<shard>`` / ``R#<ref>`` or ``E#<owner>#<ms>``: events EventBridge has not taken yet,
  their detail sealed (written with the result they report; deleted once sent).
- ``PENDING#<shard>`` / ``<ref>``: 2.0 keys without a result yet, for the sweep (the openid and
  verify_id sealed; deleted with the result's write, or with the key record's TTL).
- ``ORDER#<order_id>`` / ``ORDER``: an order of the business's servers (status, attempts, its
  results' references; the openid sealed); ``/ IDENTITY``: its name and ID number sealed under the
  order-sealing key, only while a key can be issued from it (TTL: the order's expiry; deleted when
  it passes or is cancelled); ``/ PHOTO``: what ``getimage`` needs for a passed order, sealed,
  until the passing key expires. ``USER#<owner>`` / ``ORDER#…`` indexes it for erasure.
"""

from __future__ import annotations

from .counter_items import CounterItems
from .face_items import FaceItems
from .order_items import OrderItems
from .queue_items import QueueItems
from .table_base import EPOCH, cancellation_reasons
from .user_items import UserItems

__all__ = ["EPOCH", "Table", "cancellation_reasons"]


class Table(FaceItems, OrderItems, UserItems, QueueItems, CounterItems):
    """The table as every port of ``wxface.ports.store`` sees it: each kind of item in a module
    of its own (``face_items``, ``order_items``, ``user_items``, ``queue_items``,
    ``counter_items``), over ``table_base``'s shared client and conditioned writes."""
