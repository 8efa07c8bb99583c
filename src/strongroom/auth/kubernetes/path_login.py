"""login {role, jwt} (contracts.md C(iv)) and renewal, which re-checks the workload still exists.

Renewal is where we deliberately differ from Vault (user-pain-points.md item 12): Vault only re-checks the role,
so a token outlives a deleted pod or service account. Here the service account (and the pod, when the login JWT
was bound to one) must still exist with the same UID, asked of the API with the reviewer credentials. A gone
object means PermissionDenied (the core revokes the token); an unreachable API means Unavailable (renewal fails,
the token is left alone).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from strongroom.auth.kubernetes import jwt as sajwt
from strongroom.auth.kubernetes.api import KubeClient, selector_matches
from strongroom.auth.kubernetes.path_config import ConfigStore
from strongroom.auth.kubernetes.path_role import RoleStore, glob_any, parse_selector
from strongroom.sdk import Auth, InvalidRequest, Operation, PermissionDenied, Request, Response
from strongroom.sdk.errors import Unavailable
from strongroom.sdk.framework import Field, FieldData, FieldType, Path
from strongroom.sdk.tokenfields import check_cidrs, fill_auth

log = logging.getLogger("strongroom.auth.kubernetes")


async def _namespace_allowed(client: KubeClient, role: dict[str, Any], namespace: str, login_jwt: str) -> bool:
    if glob_any(role["bound_service_account_namespaces"], namespace):
        return True
    selector = parse_selector(role.get("bound_service_account_namespace_selector", ""))
    if not selector:
        return False
    bearer = client.cfg.bearer(login_jwt) or login_jwt
    try:
        ns = await client.get(f"/api/v1/namespaces/{namespace}", bearer=bearer)
    except Unavailable:  # the login is denied, and the operator told why
        log.warning("could not read namespace labels for the namespace selector")
        return False
    labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
    return ns is not None and selector_matches(selector, labels)


def _check_review(status: dict[str, Any], sa: sajwt.ServiceAccount, audience: str) -> None:
    user = status.get("user") or {}
    if user.get("username") != f"system:serviceaccount:{sa.namespace}:{sa.name}":
        raise PermissionDenied()
    if sa.uid and user.get("uid") != sa.uid:
        raise PermissionDenied()
    reviewed = status.get("audiences")
    if audience and isinstance(reviewed, list) and audience not in reviewed:
        raise PermissionDenied()


def login_paths(configs: ConfigStore, roles: RoleStore) -> list[Path]:
    async def login(req: Request, d: FieldData) -> Response:
        role_name, token = d.get("role"), d.get("jwt")
        if not role_name:
            raise InvalidRequest("missing role")
        if not token:
            raise InvalidRequest("missing jwt")
        role = await roles.get(role_name)
        if role is None:
            raise InvalidRequest(f"invalid role name \"{role_name}\"")
        try:
            client = await configs.client()
        except Unavailable:
            log.warning("kubernetes auth: the API client could not be built (see the mount's config)")
            raise PermissionDenied() from None
        cfg = await configs.load() or {}
        if not check_cidrs(role.get("token_bound_cidrs", []), req.connection.remote_addr):
            raise PermissionDenied()
        claims, sa = sajwt.parse(token, pem_keys=cfg.get("pem_keys") or [], issuer=cfg.get("issuer", ""),
                                 check_issuer=not cfg.get("disable_iss_validation", True),
                                 audience=role.get("audience", ""))
        if not glob_any(role["bound_service_account_names"], sa.name):
            raise PermissionDenied()
        if not await _namespace_allowed(client, role, sa.namespace, token):
            raise PermissionDenied()
        audiences = [role["audience"]] if role.get("audience") else sajwt.audiences(claims)
        status = await client.token_review(token, audiences)
        _check_review(status, sa, role.get("audience", ""))
        uid = sa.uid or str((status.get("user") or {}).get("uid", ""))
        metadata = {"role": role_name.lower(), "service_account_name": sa.name,
                    "service_account_namespace": sa.namespace, "service_account_secret_name": sa.secret_name,
                    "service_account_uid": uid}
        if sa.pod_name:
            metadata.update(pod_name=sa.pod_name, pod_uid=sa.pod_uid)
        auth = fill_auth(role)
        auth.metadata = metadata
        auth.display_name = f"{sa.namespace}-{sa.name}"
        auth.alias_name = f"{sa.namespace}/{sa.name}" if role["alias_name_source"] == "serviceaccount_name" \
            else uid
        auth.internal = {"role": role_name.lower(), "namespace": sa.namespace, "name": sa.name,
                         "uid": uid, "pod_name": sa.pod_name, "pod_uid": sa.pod_uid}
        return Response(auth=auth)

    return [Path("login", {Operation.UPDATE: login},
                 fields={"role": Field(FieldType.STRING, "Name of the role against which the login is being "
                                                         "attempted."),
                         "jwt": Field(FieldType.STRING, "A signed JWT for authenticating a service account.",
                                      sensitive=True)},
                 help_synopsis="Authenticates Kubernetes service accounts with Strongroom.")]


def renewer(configs: ConfigStore, roles: RoleStore) -> Callable[[Request, Auth], Awaitable[Auth]]:
    async def renew(req: Request, auth: Auth) -> Auth:
        internal = auth.internal
        role = await roles.get(str(internal.get("role", "")))
        if role is None:
            raise PermissionDenied("role no longer exists")
        ns, name, uid = str(internal.get("namespace", "")), str(internal.get("name", "")), str(internal.get("uid"))
        if not glob_any(role["bound_service_account_names"], name):
            raise PermissionDenied("service account is no longer bound to the role")
        if not glob_any(role["bound_service_account_namespaces"], ns) and \
                not role.get("bound_service_account_namespace_selector"):
            raise PermissionDenied("namespace is no longer bound to the role")
        client = await configs.client()
        if client.cfg.bearer(None) is not None:  # without reviewer credentials only the role can be checked
            sa = await client.get(f"/api/v1/namespaces/{ns}/serviceaccounts/{name}")
            if sa is None or (uid and (sa.get("metadata") or {}).get("uid") != uid):
                raise PermissionDenied("service account no longer exists")
            pod_name, pod_uid = str(internal.get("pod_name") or ""), str(internal.get("pod_uid") or "")
            if pod_name:
                pod = await client.get(f"/api/v1/namespaces/{ns}/pods/{pod_name}")
                if pod is None or (pod_uid and (pod.get("metadata") or {}).get("uid") != pod_uid):
                    raise PermissionDenied("pod no longer exists")
        auth.ttl, auth.max_ttl, auth.period = role["token_ttl"], role["token_max_ttl"], role["token_period"]
        return auth
    return renew


__all__ = ["login_paths", "renewer"]
