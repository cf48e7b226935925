"""Building the product's WeChat calls in tests: the transport (one attempt) under the calling
policy, from one set of settings as a test states them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from wxface.domain.wechat_calls import Admission, CallPolicy, TokenSource, WeChatCalls
from wxface.wechat.transport import TransportConfig, WeChatTransport

_TRANSPORT = {f.name for f in dataclasses.fields(TransportConfig) if f.init}
_POLICY = {f.name for f in dataclasses.fields(CallPolicy)}


@dataclass(frozen=True)
class ClientConfig:
    """The transport's settings and the calling policy's, together (as the settings hold them)."""

    transport: TransportConfig
    policy: CallPolicy

    @classmethod
    def of(cls, **settings: Any) -> ClientConfig:
        unknown = set(settings) - _TRANSPORT - _POLICY
        if unknown:
            raise TypeError(f"not a WeChat setting: {sorted(unknown)}")
        return cls(
            TransportConfig(**{k: v for k, v in settings.items() if k in _TRANSPORT}),
            CallPolicy(**{k: v for k, v in settings.items() if k in _POLICY}),
        )


class Calls(WeChatCalls):
    """The product's calls, closable (a test's ``with``) since it owns its transport."""

    def close(self) -> None:
        if isinstance(self.transport, WeChatTransport):
            self.transport.close()

    def __enter__(self) -> Calls:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wechat_calls(
    config: ClientConfig | None = None,
    *,
    tokens: TokenSource | None = None,
    transport: httpx.BaseTransport | None = None,
    guard: Admission | None = None,
    sleep: Callable[[float], None] | None = None,
    observer: Callable[[str, str, int | None], None] | None = None,
    timing: Callable[[str, float], None] | None = None,
    out_seq_no_factory: Callable[[], str] | None = None,
) -> Calls:
    config = config or ClientConfig.of()
    optional: dict[str, Any] = {
        "sleep": sleep,
        "observe": observer,
        "timing": timing,
        "new_out_seq_no": out_seq_no_factory,
    }
    return Calls(
        WeChatTransport(config.transport, transport=transport),
        config.policy,
        tokens=tokens,
        guard=guard,
        **{k: v for k, v in optional.items() if v is not None},
    )
