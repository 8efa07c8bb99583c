"""`spec.provider.aws`: AWS Secrets Manager and SSM Parameter Store, through boto3 (the maintained AWS SDK).

Sessions: one boto3 client per store generation (cached by `stores.StoreManager`), built lazily under a lock.
Credentials come from `auth.secretRef` (Kubernetes Secrets) or boto3's default chain (env, profile, IMDS);
`additionalRoles` then `role` (with `externalID`) are assumed in order through STS, and the chain is rebuilt
before the temporary credentials expire. boto3 is synchronous, so every call runs in `asyncio.to_thread`.
Endpoints: ESO's `AWS_SECRETSMANAGER_ENDPOINT` / `AWS_SSM_ENDPOINT` / `AWS_STS_ENDPOINT`, else boto3's own
`AWS_ENDPOINT_URL[_<SERVICE>]` (LocalStack, moto, VPC endpoints). Errors carry the AWS error code and the key,
never a value, credential or the AWS message text.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import boto3
import botocore.exceptions
from botocore.config import Config

from strongroom.operator.externalsecret.metrics import PROVIDER_CALLS
from strongroom.operator.externalsecret.providers import base
from strongroom.operator.externalsecret.providers.base import (
    NoSecretError,
    ProviderError,
    Ref,
    StoreConfigError,
    StoreContext,
)
from strongroom.operator.externalsecret.providers.vault import read_secret_key

T = TypeVar("T")
SERVICES = {"SecretsManager": "secretsmanager", "ParameterStore": "ssm"}
ENDPOINT_ENV = {"secretsmanager": "AWS_SECRETSMANAGER_ENDPOINT", "ssm": "AWS_SSM_ENDPOINT", "sts": "AWS_STS_ENDPOINT"}
NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound"}
CREDENTIAL_ERRORS = {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
                 "SignatureDoesNotMatch", "IncompleteSignature", "ExpiredTokenException"}
REFRESH_BEFORE = 300.0  # rebuild assumed-role sessions this many seconds before they expire
SESSION_NAME = "strongroom-externalsecrets"
BOTO_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=20)


def _code(exc: botocore.exceptions.ClientError) -> str:
    return str((exc.response.get("Error") or {}).get("Code") or "Unknown")


class AwsProvider:
    name = "aws"

    def __init__(self, ctx: StoreContext, read_cache_seconds: float = 2.0) -> None:
        self.ctx, self.spec = ctx, ctx.provider_spec("aws")
        self.read_cache_seconds = read_cache_seconds
        self._cache: dict[tuple[str, str], tuple[float, bytes]] = {}
        self._inflight: dict[tuple[str, str], asyncio.Future[bytes]] = {}
        service = str(self.spec.get("service") or "")
        if service not in SERVICES:
            raise StoreConfigError('spec.provider.aws.service must be "SecretsManager" or "ParameterStore"')
        self.service, self.api = service, SERVICES[service]
        self.region = str(self.spec.get("region") or os.environ.get("AWS_REGION")
                          or os.environ.get("AWS_DEFAULT_REGION") or "")
        if not self.region:
            raise StoreConfigError("spec.provider.aws.region is required")
        self.prefix = str(self.spec.get("prefix") or "")
        self.roles = [str(r) for r in self.spec.get("additionalRoles") or []]
        if self.spec.get("role"):
            self.roles.append(str(self.spec["role"]))
        self.external_id = str(self.spec.get("externalID") or "")
        try:
            self.session_tags = [{"Key": str(t["key"]), "Value": str(t.get("value", ""))}
                                 for t in self.spec.get("sessionTags") or []]
        except (KeyError, TypeError):
            raise StoreConfigError("spec.provider.aws.sessionTags entries need key and value") from None
        self.transitive = [str(k) for k in self.spec.get("transitiveTagKeys") or []]
        self.auth = dict(self.spec.get("auth") or {})
        if "jwt" in self.auth:
            raise StoreConfigError("spec.provider.aws.auth.jwt (IRSA via TokenRequest) is not supported yet; use "
                                   "auth.secretRef or the operator's own credentials (IRSA/pod identity env)")
        if self.auth and "secretRef" not in self.auth:
            raise StoreConfigError(f"unsupported aws auth: {', '.join(sorted(self.auth))}")
        self._client: Any = None
        self._boto: Any = None
        self._expires = float("inf")
        self._lock = asyncio.Lock()
        self.sessions = 0
        self.calls = 0

    # -- sessions -----------------------------------------------------------------------------------
    @staticmethod
    def _endpoint(api: str) -> str | None:
        return os.environ.get(ENDPOINT_ENV[api]) or None  # None: boto3 applies AWS_ENDPOINT_URL[_<SVC>] itself

    async def _static_credentials(self) -> dict[str, str]:
        if "secretRef" not in self.auth:
            return {}
        ref = dict(self.auth["secretRef"] or {})
        if not ref.get("accessKeyIDSecretRef") or not ref.get("secretAccessKeySecretRef"):
            raise StoreConfigError("auth.secretRef needs accessKeyIDSecretRef and secretAccessKeySecretRef")
        creds = {"aws_access_key_id": await read_secret_key(self.ctx, ref["accessKeyIDSecretRef"]),
                 "aws_secret_access_key": await read_secret_key(self.ctx, ref["secretAccessKeySecretRef"])}
        if ref.get("sessionTokenSecretRef"):
            creds["aws_session_token"] = await read_secret_key(self.ctx, ref["sessionTokenSecretRef"])
        return creds

    def _build(self, creds: dict[str, str]) -> tuple[Any, float]:
        """Blocking: a boto3 session, the role chain assumed, and the service client (runs in a thread)."""
        session = boto3.session.Session(region_name=self.region, **creds)
        if session.get_credentials() is None:
            raise StoreConfigError("no AWS credentials: set auth.secretRef or give the operator credentials")
        expires = float("inf")
        for i, role in enumerate(self.roles):
            sts = session.client("sts", endpoint_url=self._endpoint("sts"), config=BOTO_CONFIG)
            args: dict[str, Any] = {"RoleArn": role, "RoleSessionName": SESSION_NAME}
            if i == len(self.roles) - 1:  # ESO: externalID and session tags go with the store's own role
                if self.external_id:
                    args["ExternalId"] = self.external_id
                if self.session_tags:
                    args["Tags"] = self.session_tags
                if self.transitive:
                    args["TransitiveTagKeys"] = self.transitive
            out: dict[str, Any] = self._call("sts", "AssumeRole", functools.partial(sts.assume_role, **args), role)
            c = out["Credentials"]
            exp = c.get("Expiration")
            if isinstance(exp, datetime):
                expires = min(expires, time.monotonic() + (exp.timestamp() - time.time()))
            session = boto3.session.Session(region_name=self.region, aws_access_key_id=c["AccessKeyId"],
                                            aws_secret_access_key=c["SecretAccessKey"],
                                            aws_session_token=c["SessionToken"])
        self._boto = session
        client = session.client(self.api, endpoint_url=self._endpoint(self.api), config=BOTO_CONFIG)
        return client, expires

    async def _session(self) -> Any:
        async with self._lock:
            if self._client is None or time.monotonic() > self._expires - REFRESH_BEFORE:
                creds = await self._static_credentials()
                self._client, self._expires = await asyncio.to_thread(self._build, creds)
                self.sessions += 1
            return self._client

    def _call(self, api: str, call: str, fn: Callable[[], T], what: str) -> T:
        """Blocking: one AWS call with errors mapped to the provider protocol (no AWS message text)."""
        self.calls += 1
        try:
            out = fn()
        except botocore.exceptions.ClientError as exc:
            code = _code(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            if code in NOT_FOUND:
                PROVIDER_CALLS.labels("aws", call, "success").inc()
                raise NoSecretError(f"{self.service} {what!r} not found") from None
            PROVIDER_CALLS.labels("aws", call, "error").inc()
            msg = str((exc.response.get("Error") or {}).get("Message") or "")
            if code == "InvalidRequestException" and "delet" in msg.lower():
                raise NoSecretError(f"{self.service} {what!r} is marked for deletion") from None
            if code in CREDENTIAL_ERRORS or status in (401, 403):
                self._expires = 0.0  # rotated/expired keys: rebuild the session (re-read the Secret) next time
            if code in CREDENTIAL_ERRORS:
                raise ProviderError(f"aws {api} {call} rejected the credentials: {code}") from None
            raise ProviderError(f"aws {api} {call} {what!r} failed: {code} (HTTP {status})") from None
        except botocore.exceptions.NoCredentialsError:
            raise StoreConfigError("no AWS credentials: set auth.secretRef or give the operator credentials") from None
        except botocore.exceptions.BotoCoreError as exc:
            PROVIDER_CALLS.labels("aws", call, "error").inc()
            raise ProviderError(f"aws {api} {call} {what!r} failed: {type(exc).__name__}") from None
        PROVIDER_CALLS.labels("aws", call, "success").inc()
        return out

    async def _run(self, call: str, what: str, fn: Callable[[Any], T]) -> T:
        client = await self._session()
        return await asyncio.to_thread(self._call, self.api, call, lambda: fn(client), what)

    # -- reads --------------------------------------------------------------------------------------
    async def _raw(self, ref: Ref) -> bytes:
        """`_fetch` with in-flight coalescing and a short result cache: N ExternalSecrets on one key, one call."""
        k = (ref.key, ref.version)
        hit = self._cache.get(k)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        fut = self._inflight.get(k)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[k] = fut
        try:
            value = await self._fetch(ref)
            fut.set_result(value)
            self._cache[k] = (time.monotonic() + self.read_cache_seconds, value)
            return value
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved
            raise
        finally:
            self._inflight.pop(k, None)

    async def _fetch(self, ref: Ref) -> bytes:
        """The whole remote value (string or binary) of `prefix + key` at `version`."""
        key = self.prefix + ref.key
        if self.api == "secretsmanager":
            args: dict[str, Any] = {"SecretId": key}
            if ref.version.startswith("uuid/"):
                args["VersionId"] = ref.version[5:]
            else:
                args["VersionStage"] = ref.version or "AWSCURRENT"
            out = await self._run("GetSecretValue", key, lambda c: c.get_secret_value(**args))
            if out.get("SecretString") is not None:
                return str(out["SecretString"]).encode()
            if out.get("SecretBinary") is not None:
                return bytes(out["SecretBinary"])
            raise NoSecretError(f"{self.service} {key!r} has no value")
        name = f"{key}:{ref.version}" if ref.version else key
        out = await self._run("GetParameter", name, lambda c: c.get_parameter(Name=name, WithDecryption=True))
        return str(out["Parameter"]["Value"]).encode()

    async def _tags(self, key: str) -> dict[str, str]:
        """metadataPolicy Fetch: the secret's/parameter's tags as a map."""
        if self.api == "secretsmanager":
            out = await self._run("DescribeSecret", key, lambda c: c.describe_secret(SecretId=key))
            tags = out.get("Tags") or []
        else:
            out = await self._run("ListTagsForResource", key, lambda c: c.list_tags_for_resource(
                ResourceType="Parameter", ResourceId=key))
            tags = out.get("TagList") or []
        return {str(t["Key"]): str(t.get("Value", "")) for t in tags}

    async def _doc(self, ref: Ref) -> Any:
        if ref.metadata_policy == "Fetch":
            return await self._tags(self.prefix + ref.key)
        raw = await self._raw(ref)
        try:
            return json.loads(raw)
        except ValueError:
            raise NoSecretError(f"{self.service} {ref.key!r} is not JSON, cannot select a property") from None

    async def validate(self) -> None:
        await self._session()

    async def get_secret(self, ref: Ref) -> bytes:
        if not ref.property and ref.metadata_policy != "Fetch":
            return await self._raw(ref)
        doc = await self._doc(ref)
        if not isinstance(doc, dict):
            raise NoSecretError(f"{self.service} {ref.key!r} is not a JSON map")
        return base.select_property(doc, ref.property, f"{self.service} {ref.key!r}")

    async def get_secret_map(self, ref: Ref) -> dict[str, bytes]:
        doc = await self._doc(ref)
        if ref.property and isinstance(doc, dict):
            doc = doc[ref.property] if ref.property in doc else base.gjson_get(doc, ref.property)
        if not isinstance(doc, dict):
            raise NoSecretError(f"{self.service} {ref.key!r}{' ' + repr(ref.property) if ref.property else ''} "
                                "is not a JSON map")
        return {str(k): base.encode_value(v) for k, v in doc.items()}

    # -- dataFrom.find ------------------------------------------------------------------------------
    async def find(self, path: str, name_regexp: str, tags: dict[str, str]) -> dict[str, bytes]:
        try:
            rx = re.compile(name_regexp) if name_regexp else None
        except re.error:
            raise StoreConfigError("dataFrom.find.name.regexp is not a valid regular expression") from None
        start = self.prefix + path
        names = await (self._list_secrets(start, tags) if self.api == "secretsmanager"
                       else self._list_parameters(start, tags))
        out: dict[str, bytes] = {}
        for name in sorted(names):
            if not name.startswith(start) or (rx is not None and not rx.search(name)):
                continue
            try:
                value = await self._raw(Ref(name[len(self.prefix):]))
            except NoSecretError:
                continue  # deleted between list and read
            out[name.replace("/", "_")] = value
        return out

    async def _list_secrets(self, start: str, tags: dict[str, str]) -> list[str]:
        """ListSecrets, narrowed server-side by name prefix (a superset; exact matching is done here)."""
        kw = {"Filters": [{"Key": "name", "Values": [start]}]} if start else {}

        def run(c: Any) -> list[dict[str, Any]]:
            pages = c.get_paginator("list_secrets").paginate(**kw)
            return [s for page in pages for s in page.get("SecretList") or []]

        names = []
        for s in await self._run("ListSecrets", "*", run):
            have = {str(t["Key"]): str(t.get("Value", "")) for t in s.get("Tags") or []}
            if s.get("DeletedDate") is None and all(have.get(k) == v for k, v in tags.items()):
                names.append(str(s["Name"]))
        return names

    async def _list_parameters(self, start: str, tags: dict[str, str]) -> list[str]:
        """DescribeParameters, narrowed server-side by tags and by the path hierarchy that contains `start`."""
        filters: list[dict[str, Any]] = [{"Key": f"tag:{k}", "Option": "Equals", "Values": [v]}
                                         for k, v in tags.items()]
        parent = start.rsplit("/", 1)[0] if start.startswith("/") else ""
        if parent:
            filters.append({"Key": "Path", "Option": "Recursive", "Values": [parent]})

        def run(c: Any) -> list[dict[str, Any]]:
            kw = {"ParameterFilters": filters} if filters else {}
            pages = c.get_paginator("describe_parameters").paginate(**kw)
            return [p for page in pages for p in page.get("Parameters") or []]

        return [str(p["Name"]) for p in await self._run("DescribeParameters", "*", run)]

    async def whoami(self) -> str:
        """The ARN the store acts as (STS GetCallerIdentity needs no IAM permission): for diagnostics."""
        await self._session()

        def run() -> str:
            sts = self._boto.client("sts", endpoint_url=self._endpoint("sts"), config=BOTO_CONFIG)
            return str(sts.get_caller_identity()["Arn"])

        return await asyncio.to_thread(self._call, "sts", "GetCallerIdentity", run, "self")

    async def close(self) -> None:
        self._cache.clear()
        self._client = None  # boto3 clients hold only a connection pool; temporary credentials just expire


async def factory(ctx: StoreContext) -> AwsProvider:
    return AwsProvider(ctx)


base.register("aws", factory)
