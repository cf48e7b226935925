"""SSM Parameter Store: cached reads (Powertools Parameters), secrets created on first use."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..ports.params import ParameterMissing
from .aws import AwsClients

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider


def _unwrapped(exc: Exception, name: str) -> Exception:
    """What Powertools' GetParameterError wraps: a missing parameter, or the AWS error itself
    (throttling, an outage), so that the API answers it as any AWS failure (503), not a 500."""
    from botocore.exceptions import BotoCoreError, ClientError

    cause = exc.__cause__ or exc.__context__
    if "ParameterNotFound" in str(exc) or type(cause).__name__ == "ParameterNotFound":
        return ParameterMissing(name)
    if isinstance(cause, ClientError | BotoCoreError):
        return cause
    return exc


class SsmParams:
    """:class:`wxface.ports.params.SecureParams` on SSM Parameter Store (SecureStrings, the
    stack's KMS key if it has one), through a per-container cache (Powertools Parameters). The
    container's state is this object's (the wiring makes one): the provider and its cache, and
    the parameters a prefetch found missing."""

    def __init__(self, clients: AwsClients | None = None, *, kms_key_id: str = "") -> None:
        self._clients = clients or AwsClients()
        # The stack's optional customer-managed key; without one, SSM's AWS-managed key.
        self._kms_key_id = kms_key_id
        self._ssm: SSMProvider | None = None
        # Parameters a prefetch found missing, until when it does not ask for them again (a key
        # created on first use by another function, e.g. the sealing key before the first key
        # issuance).
        self._absent: dict[str, float] = {}

    def _provider(self) -> SSMProvider:
        if self._ssm is None:
            from aws_lambda_powertools.utilities.parameters import SSMProvider

            self._ssm = SSMProvider(boto3_client=self._clients.ssm())
        return self._ssm

    def write(self, name: str, value: str) -> None:
        self.put(name, value)

    def read(self, name: str, *, max_age: int, force: bool = False) -> str:
        """A SecureString's value, cached in memory for ``max_age`` seconds (0 SSM calls when warm)."""
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            value = self._provider().get(name, max_age=max_age, force_fetch=force, decrypt=True)
        except GetParameterError as exc:
            raise _unwrapped(exc, name) from None
        if not isinstance(value, str):  # pragma: no cover - SSM strings are str
            raise TypeError(f"{name} is not a string parameter")
        return value

    def prefetch(self, ages: dict[str, int]) -> None:
        """Read several SecureStrings with one GetParameters into the cache :meth:`read` uses
        (name: cache age) whenever any of them is not cached (a container's first request, and each
        time the first of them expires): all are read again together, so they stay in step and a
        warm container makes one SSM call per cache age instead of one per parameter."""
        provider = self._provider()
        now = time.monotonic()
        if all(
            provider.has_not_expired_in_cache(provider._build_cache_key(name=name))
            or self._absent.get(name, 0.0) > now
            for name in ages
        ):
            return
        missing = dict(ages)
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            found = provider.get_parameters_by_name(
                # max_age 0: always from SSM (the batch's own cache would answer stale values);
                # the entries `get` reads are seeded below with each parameter's own age.
                {name: {"max_age": 0} for name in missing},
                decrypt=True,
                raise_on_error=False,
            )
        except GetParameterError as exc:
            raise _unwrapped(exc, ", ".join(missing)) from None
        # Powertools caches a batch under (name, transform) but `get` looks under
        # (name, transform, is_nested): seed the entries `get` reads. `_build_cache_key` is private:
        # tests/unit/test_private_apis.py fails on the Powertools upgrade that changes it. Missing names (first deploy) are
        # left to their readers, which create them.
        for name, age in missing.items():
            if name in found:
                provider.add_to_cache(
                    key=provider._build_cache_key(name=name), value=found[name], max_age=age
                )
                self._absent.pop(name, None)
            else:  # not created yet: not asked for again before its age has passed (its reader creates it)
                self._absent[name] = now + age

    def put(self, name: str, value: str, *, overwrite: bool = True) -> bool:
        """Write a SecureString. With ``overwrite=False`` it returns False if it already exists."""
        client = self._clients.ssm()
        key_id = self._kms_key_id
        try:
            if key_id:
                client.put_parameter(
                    Name=name,
                    Value=value,
                    Type="SecureString",
                    Overwrite=overwrite,
                    Tier="Standard",
                    KeyId=key_id,
                )
            else:
                client.put_parameter(
                    Name=name, Value=value, Type="SecureString", Overwrite=overwrite, Tier="Standard"
                )
        except client.exceptions.ParameterAlreadyExists:
            return False
        return True

    def read_or_create(self, name: str, make: Callable[[], str], *, max_age: int, force: bool = False) -> str:
        """Read a secret this stack owns (``force``: bypassing the cache), creating it on first use.

        Creation is race-safe: ``Overwrite=False`` lets exactly one container create it; everyone
        else reads the winner's value.
        """
        try:
            return self.read(name, max_age=max_age, force=force)
        except ParameterMissing:
            self.put(name, make(), overwrite=False)
            return self.read(name, max_age=max_age, force=True)


class Prefetch:
    """A function's parameters read together before its first routing (name: cache age), as
    :meth:`SsmParams.prefetch` does; called by the edge on every request (a cache look-up when
    warm)."""

    def __init__(self, params: SsmParams, ages: dict[str, int]) -> None:
        self.params = params
        self.ages = dict(ages)

    def __call__(self) -> None:
        self.params.prefetch(self.ages)
