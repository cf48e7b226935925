"""Abuse limits: per-subject counters in fixed windows, and the guard on WeChat's daily quotas.

Both count in the stack's table, so every container of every function sees the same counts.
A refused request raises :class:`RateLimited` (or :class:`QuotaGuardRefused`) with
``retry_after``: the seconds until the window (or WeChat's day) ends (429 at the edge).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..dal.records import Store
from .errors import QuotaGuardRefused, RateLimited

HOUR_S = 3600
# WeChat's daily quotas reset at midnight Beijing time (UTC+8, no daylight saving).
WECHAT_DAY = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Limit:
    """At most ``allowed`` requests of one kind per subject in each fixed window."""

    scope: str  # "keys", "lookups", "erasures", "sessions-by-address"
    allowed: int
    window_s: int = HOUR_S


@dataclass(frozen=True)
class Charge:
    """One request counted against a limit; :meth:`give_back` if it turned out not to count."""

    table: Store
    counter: str

    def give_back(self) -> None:
        self.table.give_back(self.counter)


def charge(table: Store, limit: Limit, subject: str, now: float) -> Charge:
    """Count one request of ``subject`` (an HMAC, never a value in clear), or refuse it."""
    window = int(now // limit.window_s)
    counter = f"{limit.scope}#{subject}#{window}"
    if not table.take(counter, limit.allowed, ttl=(window + 2) * limit.window_s):
        retry_after = max(1, math.ceil((window + 1) * limit.window_s - now))
        raise RateLimited(retry_after=retry_after)
    return Charge(table, counter)


def wechat_day(now: float) -> tuple[str, int]:
    """WeChat's day of ``now`` (``YYYYMMDD``) and the seconds left in it."""
    local = dt.datetime.fromtimestamp(now, WECHAT_DAY)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.strftime("%Y%m%d"), max(1, math.ceil(midnight.timestamp() - now))


@dataclass(frozen=True)
class QuotaPolicy:
    """Daily quotas by WeChat endpoint path (absent or 0: counted, never refused)."""

    daily: Mapping[str, int]
    alarm_percent: int = 80
    refuse_percent: int = 95
    # Endpoints whose calls start something new: refused past ``refuse_percent``. Lookups of
    # keys already issued are never refused, so users who started a face check can finish it.
    guarded: frozenset[str] = frozenset(
        {"/cityservice/face/identify/getuseridkey", "/cityservice/face/identify/getverifyid"}
    )

    def block(self, endpoint: str) -> int:
        """Calls a container reserves at once: 1 for small quotas (exact counts), up to 50 for
        large ones (at most 0.05 % of the quota reserved and unused per container)."""
        quota = self.daily.get(endpoint, 0)
        return 50 if quota <= 0 else max(1, min(50, quota // 2000))


@dataclass
class QuotaGuard:
    """Counts this stack's calls to each WeChat endpoint per WeChat day, in the table.

    A container reserves calls in blocks (:meth:`QuotaPolicy.block`) and spends them locally, so
    a large quota costs one table write per block, not per call. ``report(endpoint, percent,
    over_alarm)`` hears the share of the quota used after every reservation (the alarm metric).
    """

    table: Store
    policy: QuotaPolicy
    report: Callable[[str, float, bool], None]
    clock: Callable[[], float]
    _left: dict[tuple[str, str], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, endpoint: str) -> None:
        """Count one call to ``endpoint``; :class:`QuotaGuardRefused` if it is a guarded endpoint
        past ``refuse_percent`` of today's quota."""
        now = self.clock()
        day, seconds_left = wechat_day(now)
        key = (endpoint, day)
        with self._lock:
            left = self._left.get(key, 0)
            if left > 0:
                self._left[key] = left - 1
                return
        quota = self.policy.daily.get(endpoint, 0)
        block = self.policy.block(endpoint)
        refuse_at = (
            math.ceil(quota * self.policy.refuse_percent / 100)
            if quota > 0 and endpoint in self.policy.guarded
            else None
        )
        used = self.table.reserve(
            f"quota#{endpoint}#{day}", block, below=refuse_at, ttl=int(now) + seconds_left + 2 * 86400
        )
        if used is None:
            self.report(endpoint, 100.0 * refuse_at / quota if refuse_at else 100.0, True)
            raise QuotaGuardRefused(retry_after=seconds_left)
        with self._lock:
            self._left = {k: v for k, v in self._left.items() if k[1] == day}
            self._left[key] = self._left.get(key, 0) + block - 1
        if quota > 0:
            percent = 100.0 * used / quota
            self.report(endpoint, percent, percent >= self.policy.alarm_percent)
