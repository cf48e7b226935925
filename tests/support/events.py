"""What the business's events carry (the contract's FaceVerificationCompleted detail)."""

from __future__ import annotations

COMPLETED_DETAIL_FIELDS = frozenset(
    {
        "result_id",
        "openid",
        "api_version",
        "passed",
        "result_code",
        "identity_matched",
        "verified_at",
        "biz_ref",
        "order_id",
        "identity_source",
    }
)
