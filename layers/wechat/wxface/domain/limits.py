"""Abuse limits: per-subject counters in sliding windows, and the guard on WeChat's quotas.

Both count in the stack's table, so every container of every function sees the same counts.
A refused request raises :class:`RateLimited` (or :class:`QuotaGuardRefused`) with
``retry_after``: the seconds until the window (or WeChat's day) ends (429 at the edge).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..ports.store import Counters, Users
from ..wechat.endpoints import (
    P_GETIMAGE,
    P_GETINFO,
    P_GETUSERIDKEY,
    P_GETVERIFYID,
    P_JSCODE2SESSION,
    P_QUERYVERIFYINFO,
)
from .errors import QuotaGuardRefused, RateLimited, Refused, SessionEnded

# The sweep's last look at a 2.0 key: this long before WeChat stops accepting it (the issuance
# schedules its pending check by it; a lookup past it is a late one).
LAST_LOOK_S = 300

if TYPE_CHECKING:
    from .sessions import Session

HOUR_S = 3600
# How long a user's own item (their counts and the end of their sessions) outlives its last
# write: longer than two windows and than the longest session a token may carry (one day).
USER_STATE_TTL_S = 2 * 86400
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

    give_back: Callable[[], None]


def charge(table: Counters, limit: Limit, subject: str, now: float) -> Charge:
    """Count one request of ``subject`` (an HMAC of an address, never a value in clear), or
    refuse it: a sliding window, the previous window's count weighed by the share of it still
    inside the last ``window_s`` (so a script gets the allowance once, not twice, across a
    window's edge). One read of the previous window, one conditional write."""
    window_s = limit.window_s
    window = int(now // window_s)
    counter = f"{limit.scope}#{subject}#{window}"
    (previous,) = table.counters([f"{limit.scope}#{subject}#{window - 1}"])
    elapsed = (now - window * window_s) / window_s
    room = limit.allowed - math.ceil(previous * (1 - elapsed))  # rounded up: never more lenient
    if room <= 0 or not table.take(counter, room, ttl=(window + 2) * window_s):
        raise RateLimited(retry_after=_room_again(limit, previous, max(room, 0), now), scope=limit.scope)
    return Charge(lambda: table.give_back(counter))


def _room_again(limit: Limit, previous: int, current: int, now: float) -> int:
    """Seconds until the sliding estimate (``previous`` weighed, plus ``current``) leaves room
    for one more, at most until the window ends."""
    window_s = limit.window_s
    window = int(now // window_s)
    window_end = max(1, math.ceil((window + 1) * window_s - now))
    spare = limit.allowed - 1 - current
    if previous <= 0 or spare < 0:
        return window_end
    elapsed = (now - window * window_s) / window_s
    return min(window_end, max(1, math.ceil((1 - spare / previous - elapsed) * window_s)))


def sliding_count(table: Counters, scope: str, subject: str, now: float, window_s: int = HOUR_S) -> float:
    """The sliding-window estimate of ``scope``'s count for ``subject`` (one read)."""
    window = int(now // window_s)
    current, previous = table.counters([f"{scope}#{subject}#{window}", f"{scope}#{subject}#{window - 1}"])
    return previous * (1 - (now - window * window_s) / window_s) + current


def add_count(table: Counters, scope: str, subject: str, now: float, window_s: int = HOUR_S) -> None:
    """Count one event of ``scope`` for ``subject`` in the current window (never refused)."""
    window = int(now // window_s)
    table.reserve(f"{scope}#{subject}#{window}", 1, below=None, ttl=(window + 2) * window_s)


def charge_user(table: Users, limit: Limit, owner: str, session: Session, now: float) -> Charge:
    """Count one request of a signed-in user (``owner``: the openid's HMAC) against ``limit``,
    in the same write that checks their session was not ended by an erasure (the session's
    erasure epoch is still the user's).

    Two windows, not one: the previous window's count weighs by the share of it still inside the
    last ``window_s`` (the sliding-window estimate), so a script cannot spend the limit at the
    end of one window and again at the start of the next. :class:`SessionEnded` (401) for a
    session issued before an erasure; :class:`RateLimited` (429) with the seconds until the
    estimate leaves room again.
    """
    window_s = limit.window_s
    window = int(now // window_s)
    counted = table.count_user(
        owner,
        limit.scope,
        window,
        below=limit.allowed,
        issued_at=session.issued_at,
        epoch=session.epoch,
        ttl=int(now) + USER_STATE_TTL_S,
    )
    if counted.sessions_ended:
        raise SessionEnded
    window_end = max(1, math.ceil((window + 1) * window_s - now))
    if not counted.counted:
        raise RateLimited(retry_after=window_end, scope=limit.scope)
    elapsed = (now - window * window_s) / window_s
    if counted.previous * (1 - elapsed) + counted.current > limit.allowed:
        table.uncount_user(owner, limit.scope, window)
        # Room again once the previous window's weight has fallen by the excess.
        share = 1 - elapsed - (limit.allowed - counted.current) / counted.previous
        raise RateLimited(retry_after=min(window_end, max(1, math.ceil(share * window_s))), scope=limit.scope)
    return Charge(lambda: table.uncount_user(owner, limit.scope, window))


# The WeChat lookups of one key issued here that count as "bound" at the quota guard (refused
# only at the hourly budget itself): the shipped client's first lookup and its polling of a check
# not finished yet (3 more), and one to spare. Every other lookup is refused first, with the
# lookups nobody is bound to (docs/architecture.md, "What an attacker needs").
BOUND_LOOKUPS_PER_KEY = 5


def bound_by_key(lookups_of_key: int | None) -> Priority:
    """2.0: a lookup is bound while its key's WeChat lookups (this one counted) are within
    :data:`BOUND_LOOKUPS_PER_KEY`; None: the key record is gone."""
    bound = lookups_of_key is not None and lookups_of_key <= BOUND_LOOKUPS_PER_KEY
    return "bound" if bound else "unbound"


def bound_by_credits(table: Users, owner: str, session: Session, now: float) -> Priority:
    """1.0 (a ``verify_result`` names its key only in WeChat's answer): the user's WeChat
    lookups are counted in their own item (one write per lookup that reaches WeChat), and a
    lookup is bound while those of the last two hours stay within :data:`BOUND_LOOKUPS_PER_KEY`
    per key the user asked for in them."""
    window = int(now // HOUR_S)
    counted = table.count_user(
        owner,
        "wechat-lookups",
        window,
        below=2**31,  # counted, never refused here: the quota guard decides
        issued_at=session.issued_at,
        epoch=session.epoch,
        ttl=int(now) + USER_STATE_TTL_S,
    )
    if counted.sessions_ended:
        raise SessionEnded
    used = counted.current + counted.previous
    return "bound" if used <= BOUND_LOOKUPS_PER_KEY * counted.recent_keys else "unbound"


def check_not_erased(table: Users, owner: str, session: Session) -> None:
    """:class:`SessionEnded` if an erasure of the user began after ``session`` was issued (one
    consistent read; for answers given without a write that would check it, such as a replay)."""
    if table.erasure_epoch(owner) > session.epoch:
        raise SessionEnded


def wechat_day(now: float) -> tuple[str, int]:
    """WeChat's day of ``now`` (``YYYYMMDD``) and the seconds left in it."""
    local = dt.datetime.fromtimestamp(now, WECHAT_DAY)
    midnight = (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return local.strftime("%Y%m%d"), max(1, math.ceil(midnight.timestamp() - now))


Priority = Literal["bound", "new", "photo", "unbound", "background"]
# What a WeChat call is for (the use case says so with the call; the guard reads it): a lookup of
# a face check bound to a key issued here ("bound", refused last), a new key or login ("new", the
# default for the guarded endpoints), the verification photo of a passed order for the business's
# servers ("photo": no face check waits for it; refused from ``photo_percent``), a lookup with no
# key here ("unbound", refused first), or the 2.0 sweep's lookup of a result nobody asked for
# ("background": no user waits for it; refused as early as unbound).


@dataclass(frozen=True)
class QuotaPolicy:
    """Daily quotas by WeChat endpoint path (absent or 0: counted, never refused), and an hourly
    budget per endpoint across all users (``hourly_share`` times the even hourly share of the
    daily quota; 0: none), so a drain by many accounts is stopped within the hour, long before
    WeChat's own 45009 would stop every user until Beijing midnight.

    Thresholds by priority: unbound lookups are refused from ``unbound_percent`` of a budget,
    orders' photos from ``photo_percent``, new keys from ``refuse_percent``, lookups bound to a key issued here only at the hourly
    budget itself (and never by the daily share: they finish face checks already started).
    """

    daily: Mapping[str, int]
    alarm_percent: int = 80
    refuse_percent: int = 95
    unbound_percent: int = 80
    photo_percent: int = 90
    hourly_share: float = 3.0
    # Endpoints whose calls start something new (by default "new"); the others are lookups
    # (by default "bound").
    guarded: frozenset[str] = frozenset({P_GETUSERIDKEY, P_GETVERIFYID})

    def hourly(self, endpoint: str) -> int:
        quota = self.daily.get(endpoint, 0)
        return (
            0 if quota <= 0 or self.hourly_share <= 0 else max(1, math.ceil(quota / 24 * self.hourly_share))
        )

    def refuse_at(self, budget: int, priority: Priority, *, daily: bool) -> int | None:
        """The count from which calls of ``priority`` are refused (None: never)."""
        if budget <= 0:
            return None
        if priority == "bound":
            return None if daily else budget
        percent = (
            self.unbound_percent
            if priority in ("unbound", "background")
            else self.photo_percent
            if priority == "photo"
            else self.refuse_percent
        )
        return max(1, math.ceil(budget * percent / 100))

    @staticmethod
    def block(budget: int) -> int:
        """Calls a container reserves at once: 1 for small budgets (exact counts), up to 50 for
        large ones (at most 0.05 % of the budget reserved and unused per container)."""
        return 50 if budget <= 0 else max(1, min(50, budget // 2000))


# A window's rollover without every container writing the same counter in the same second: in
# the last PREPARE_S of an hour (and of WeChat's day) each container, at its own moment (its
# ``phase``), reserves its first block of the next window; in the first REREAD_S of an hour each
# reads the last hour's final count at its own moment (until then it weighs the count it read
# when it prepared). MARGIN_S: no preparation in a window's last seconds (a reservation in flight
# then may land after the edge).
PREPARE_S = 120.0
REREAD_S = 120.0
MARGIN_S = 5.0


# What a refusal at each endpoint refuses, for its message.
_REFUSED: Mapping[str, Refused] = {
    P_GETUSERIDKEY: "keys",
    P_GETVERIFYID: "keys",
    P_GETINFO: "lookups",
    P_QUERYVERIFYINFO: "lookups",
    P_GETIMAGE: "photos",
    P_JSCODE2SESSION: "logins",
}


@dataclass
class QuotaGuard:
    """Counts this stack's calls to each WeChat endpoint per WeChat day and per hour, in the
    table: every attempt WeChat may see (the client admits each, retries included).

    A container reserves calls in blocks (:meth:`QuotaPolicy.block`) and spends them locally, so
    a large quota costs one table write per block, not per call; a block is spent only while the
    count last seen is below the threshold of the call's priority. ``report(endpoint, percent,
    over_alarm)`` hears the share of the daily quota used after every reservation (the alarm).

    Where blocks are larger than one call, a container reserves its first block of the next hour
    (and of the next WeChat day) at its own moment in the window's last ``prepare_s`` (``phase``,
    drawn at random per container), a block of its own size between half and the whole, so that
    the containers' writes at a window's edge, and when those first blocks run out, are spread
    over minutes instead of landing in one second on one item (docs/capacity.md). The next
    hour's block is reserved against the current hour's count read then: the sliding hour may
    let through, at most, what the whole stack calls in the ``prepare_s`` before the hour's end
    beyond that count, until each container reads the final count in the next hour's first
    ``REREAD_S``.
    """

    table: Counters
    policy: QuotaPolicy
    report: Callable[[str, float, bool], None]
    clock: Callable[[], float]
    _left: dict[tuple[str, str], int] = field(default_factory=dict)
    _seen: dict[tuple[str, str], int] = field(default_factory=dict)
    _previous: dict[tuple[str, str], int] = field(default_factory=dict)  # last hour's count, read once
    _lock: threading.Lock = field(default_factory=threading.Lock)
    phase: float = field(default_factory=random.random)  # this container's moment in each window's edge
    prepare_s: float = PREPARE_S  # 0: no preparation (every container writes at the edge)
    _prepared: set[tuple[str, str]] = field(default_factory=set)
    _reread_at: dict[tuple[str, str], float] = field(default_factory=dict)  # estimated counts' ends

    def admit(self, endpoint: str, priority: Priority | None = None) -> None:
        """Count one call to ``endpoint``; :class:`QuotaGuardRefused` past the threshold of the
        call's ``priority`` (by default "new" for the guarded endpoints, else "bound") in this
        hour's budget or today's quota."""
        priority = priority or ("new" if endpoint in self.policy.guarded else "bound")
        what = _REFUSED.get(endpoint, "calls")
        now = self.clock()
        day, day_left = wechat_day(now)
        hour = int(now // HOUR_S)
        next_day = wechat_day(now + day_left)[0]
        current = {f"d{day}", f"h{hour}", f"d{next_day}", f"h{hour + 1}"}  # blocks kept
        budget = self.policy.hourly(endpoint)
        if budget:
            refuse = self.policy.refuse_at(budget, priority, daily=False)
            if refuse is not None:  # a sliding hour: what the last hour spent still counts, weighed
                refuse -= self._carried(endpoint, hour, now)
            if (refuse is not None and refuse <= 0) or self._take(
                endpoint, f"h{hour}", budget, refuse, int(now) + 2 * HOUR_S, current
            ) == -1:
                raise QuotaGuardRefused(retry_after=max(1, math.ceil((hour + 1) * HOUR_S - now)), what=what)
        quota = self.policy.daily.get(endpoint, 0)
        refuse = self.policy.refuse_at(quota, priority, daily=True)
        used = self._take(endpoint, f"d{day}", quota, refuse, int(now) + day_left + 2 * 86400, current)
        if used == -1:
            self.report(endpoint, 100.0 * (refuse or quota) / quota if quota else 100.0, True)
            raise QuotaGuardRefused(retry_after=day_left, what=what)
        if used is not None and quota > 0:
            percent = 100.0 * used / quota
            self.report(endpoint, percent, percent >= self.policy.alarm_percent)
        if self.prepare_s > 0:
            self._prepare(endpoint, priority, now, current, hour=hour, budget=budget, next_day=next_day,
                          quota=quota, day_left=day_left)  # fmt: skip

    def _first_look(
        self, key: tuple[str, str], block: int, ends: float, now: float, current: set[str]
    ) -> bool:
        """Whether this container prepares ``key``'s window (which begins at ``ends``) now: blocks
        of more than one call only (one-call blocks are one write per call, spread as the calls
        are), from its own moment in the current window's last ``prepare_s``, once."""
        moment = ends - self.prepare_s + self.phase * max(0.0, self.prepare_s - MARGIN_S)
        if block <= 1 or not moment <= now < ends - MARGIN_S:
            return False
        with self._lock:
            first = key not in self._prepared
            self._prepared = {k for k in self._prepared if k[1] in current} | {key}
        return first

    def _prepare(
        self,
        endpoint: str,
        priority: Priority,
        now: float,
        current: set[str],
        *,
        hour: int,
        budget: int,
        next_day: str,
        quota: int,
        day_left: int,
    ) -> None:
        """Reserve this container's first block of the next hour (``hour``'s hourly ``budget``)
        and of the next WeChat day (``next_day``, its ``quota``; ``day_left``: seconds left in
        this one), each at :meth:`_first_look`."""
        hour_ends = (hour + 1) * HOUR_S
        key = (endpoint, f"h{hour + 1}")
        refuse = self.policy.refuse_at(budget, priority, daily=False)
        if self._first_look(key, self.policy.block(budget), hour_ends, now, current) and refuse is not None:
            (count,) = self.table.counters([f"quota#{endpoint}#h{hour}"])
            # At the next hour's start the last hour weighs almost whole: its count as read now.
            if self._reserve_next(key, f"quota#{endpoint}#h{hour + 1}", budget, refuse - count,
                                  int(hour_ends) + 2 * HOUR_S):  # fmt: skip
                with self._lock:  # weighed in the next hour until this container re-reads it
                    self._previous[(endpoint, f"h{hour}")] = count
                    self._reread_at[(endpoint, f"h{hour}")] = hour_ends + self.phase * REREAD_S
        day_ends = now + day_left
        key = (endpoint, f"d{next_day}")
        if self._first_look(key, self.policy.block(quota), day_ends, now, current):
            # No carry across days; bound lookups are never refused by the day.
            below = self.policy.refuse_at(quota, priority, daily=True)
            self._reserve_next(key, f"quota#{endpoint}#{next_day}", quota, below, int(day_ends) + 2 * 86400)

    def _reserve_next(
        self, key: tuple[str, str], counter: str, budget: int, below: int | None, ttl: int
    ) -> bool:
        """A block of this container's own size (half to all of one) in the next window's
        ``counter`` while its total stays within ``below`` (None: unconditionally)."""
        size = max(1, round(self.policy.block(budget) * (0.5 + 0.5 * self.phase)))
        if below is not None and below - size < 0:
            return False
        used = self.table.reserve(counter, size, below=None if below is None else below - size + 1, ttl=ttl)
        if used is None:
            return False
        with self._lock:
            self._left[key] = self._left.get(key, 0) + size
            self._seen[key] = used
        return True

    def _carried(self, endpoint: str, hour: int, now: float) -> int:
        """The previous hour's calls of ``endpoint`` weighed by the share of that hour still
        inside the last 60 minutes (the hourly budget is a sliding window, so a script does not
        get it twice across an hour's edge). The previous hour's count is read once per
        container and hour."""
        key = (endpoint, f"h{hour - 1}")
        with self._lock:
            previous = self._previous.get(key)
            if previous is not None and now >= self._reread_at.get(key, math.inf):
                previous = None  # the estimate from the last hour's end: this container's moment to re-read
        if previous is None:
            (previous,) = self.table.counters([f"quota#{endpoint}#h{hour - 1}"])
            with self._lock:
                kept = (f"h{hour - 1}", f"h{hour}")  # an estimate for the next hour stays
                self._previous = {k: v for k, v in self._previous.items() if k[1] in kept}
                self._previous[key] = previous
                self._reread_at.pop(key, None)
        return math.ceil(previous * (1 - (now - hour * HOUR_S) / HOUR_S))  # rounded up: never more lenient

    def _take(
        self, endpoint: str, period: str, budget: int, refuse_at: int | None, ttl: int, current: set[str]
    ) -> int | None:
        """One call of ``endpoint`` in ``period`` ("d<YYYYMMDD>" or "h<hour>"): spent from the
        local block while the count last seen is below ``refuse_at`` (answers None), else a new
        block reserved in the table (answers the new total), or -1 when the table refuses."""
        key = (endpoint, period)
        with self._lock:
            left, seen = self._left.get(key, 0), self._seen.get(key, 0)
            if left > 0 and (refuse_at is None or seen < refuse_at):
                self._left[key] = left - 1
                return None
        block = self.policy.block(budget)
        if refuse_at is not None:  # never reserve past the threshold: the rest is for others
            block = max(1, min(block, refuse_at - seen))
        # The daily counter keeps its historical name (RATE#quota#<endpoint>#<YYYYMMDD>).
        counter = f"quota#{endpoint}#{period[1:]}" if period.startswith("d") else f"quota#{endpoint}#{period}"
        used = self.table.reserve(counter, block, below=refuse_at, ttl=ttl)
        if used is None:
            return -1
        with self._lock:
            self._left = {k: v for k, v in self._left.items() if k[1] in current}
            self._seen = {k: v for k, v in self._seen.items() if k[1] in current}
            self._left[key] = self._left.get(key, 0) + block - 1
            self._seen[key] = used
        return used
