"""The agent loop: log in, render, then (unless --once) keep the token and leases alive, re-render on change and
revoke on exit. Synchronous on purpose: one loop, one client, a handful of timers; nothing to gain from asyncio.

Change detection: the store's KV change notifications (long-poll of `sys/events/kv`, paths only) wake the loop
at once; polling every `poll_interval` remains as the fallback (Vault/OpenBao have no such endpoint, or the policy
may not grant it) and catches anything missed; `wake()` (SIGHUP in the CLI) re-renders on demand. Files are only
rewritten when their rendered bytes change.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from strongroom.agent import auth
from strongroom.agent.child import Child
from strongroom.agent.config import AgentConfig, ConfigError
from strongroom.agent.fetch import Fetcher, SecretMissing
from strongroom.agent.files import DiskCache, read_bytes, write_atomic
from strongroom.client import Client, ClientConfig, ClientError, Forbidden, ServerUnavailable
from strongroom.templating import Template, TemplateError

log = logging.getLogger("strongroom.agent")
NOTIFY_WAIT = 25  # seconds per long-poll of sys/events/kv


class AgentError(Exception):
    """A fatal problem (bad template, missing secret, permission denied). Never carries a secret value."""


class PermissionDenied(AgentError):
    """The store refused a read: the policy denies it, or our token was revoked behind our back."""


@dataclass
class Status:
    rendered: list[str] = field(default_factory=list)  # destinations written at least once
    writes: int = 0
    passes: int = 0
    degraded: bool = False
    logins: int = 0
    token_renewals: int = 0
    lease_renewals: int = 0
    revoked_leases: int = 0
    token_revoked: bool = False
    notifications: int = 0  # change notifications that triggered a re-render
    child_restarts: int = 0
    child_exit: int | None = None
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Agent:
    def __init__(self, cfg: AgentConfig) -> None:
        cfg.validate()
        self.cfg = cfg
        self.client = Client(ClientConfig(address=cfg.address, token="", namespace=cfg.namespace,
                                          ca_cert=cfg.ca_cert, insecure_skip_verify=cfg.tls_skip_verify))
        self.fetcher = Fetcher(self.client, DiskCache(cfg.cache_dir) if cfg.cache_dir else None)
        self.session: auth.Session | None = None
        self.status = Status()
        self.stop_event = threading.Event()
        self._wake = threading.Event()
        self._digests: dict[str, str] = {}
        self._env: dict[str, str] | None = None
        self.child = Child(cfg.exec.command, cfg.exec.kill_timeout) if cfg.exec.command else None
        self._templates = [(t, Template(t.text(), name=t.destination,
                                        funcs={"secret": self.fetcher.secret},
                                        missing_key="error" if t.error_on_missing_key else "default"))
                           for t in cfg.templates]
        self._env_templates = {k: Template(v, name=f"env {k}", funcs={"secret": self.fetcher.secret})
                               for k, v in cfg.exec.env.items()}

    # --- control --------------------------------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()

    def wake(self) -> None:
        """Re-render now (a change notification or SIGHUP)."""
        self._wake.set()

    # --- auth -----------------------------------------------------------------------------------------------

    def login(self) -> None:
        self.session = auth.login(self.client, self.cfg.auth)
        self.status.logins += 1
        log.info("authenticated with %s auth (token ttl %ss)", self.cfg.auth.method, int(self.session.ttl))

    def _keep_token(self) -> None:
        s = self.session
        now = time.monotonic()
        if s is None:
            self.login()
            return
        if s.expired(now) and s.owned:
            self.login()
            return
        if not s.renew_due(now):
            return
        try:
            a = self.client.renew_self()
        except ServerUnavailable:
            return
        except ClientError:
            if not s.owned:
                raise
            log.warning("token renewal refused; logging in again")
            self.login()
            return
        ttl = float(a.get("lease_duration") or 0)
        self.status.token_renewals += 1
        if s.owned and ttl < s.ttl / 2:  # hit max_ttl: a fresh login beats running out
            self.login()
        else:
            s.ttl, s.obtained = ttl, now

    # --- rendering ------------------------------------------------------------------------------------------

    def render(self) -> bool:
        """One pass over every template. Returns True if anything changed. Raises ServerUnavailable when a
        secret is unreachable and no earlier value is known, AgentError on template or permission errors."""
        self.fetcher.begin_pass()
        outputs: list[tuple[str, bytes, int]] = []
        try:
            for t, tpl in self._templates:
                outputs.append((t.destination, tpl.execute({}).encode(), t.perms))
            env = {k: tpl.execute({}) for k, tpl in self._env_templates.items()}
        except (TemplateError, SecretMissing, ClientError) as exc:
            cause = self.fetcher.error or exc
            if isinstance(cause, ServerUnavailable):
                raise cause from None
            if isinstance(cause, Forbidden):
                raise PermissionDenied(f"permission denied reading {cause.path}") from None
            if isinstance(cause, ClientError):
                raise AgentError(f"store error reading {cause.path} (HTTP {cause.status})") from None
            raise AgentError(str(cause)) from None
        self.fetcher.end_pass()
        self.status.passes += 1
        self.status.degraded = bool(self.fetcher.degraded)
        if self.fetcher.degraded:
            log.warning("store unreachable: kept last known values for %d secret(s)", len(self.fetcher.degraded))
        changed = False
        for dest, data, mode in outputs:
            digest = hashlib.sha256(data).hexdigest()
            if self._digests.get(dest) == digest:
                continue
            current = read_bytes(dest)
            if current is None or hashlib.sha256(current).hexdigest() != digest or dest not in self._digests:
                write_atomic(dest, data, mode)
                self.status.writes += 1
                log.info("rendered %s", dest)
            self._digests[dest] = digest
            if dest not in self.status.rendered:
                self.status.rendered.append(dest)
            changed = True
        if env != self._env:
            changed = changed or self._env is not None
            self._env = env
        return changed

    # --- lifecycle ------------------------------------------------------------------------------------------

    def _first_render(self) -> None:
        """Log in and render, retrying while the store is unreachable. With a cache, a pod can start during an
        outage: cached values are rendered at once and the agent keeps trying."""
        deadline = time.monotonic() + (self.cfg.startup_timeout if self.cfg.once else float("inf"))
        while not self.stop_event.is_set():
            try:
                if self.session is None:
                    self.login()
                self.render()
                return
            except ServerUnavailable:
                if self.session is None and self.fetcher.fallback:
                    try:
                        self.render()  # every path comes from the cache
                        return
                    except ServerUnavailable:
                        pass
                if time.monotonic() >= deadline:
                    raise AgentError(f"store at {self.cfg.address} unreachable and no cached values") from None
                log.warning("store unreachable; retrying in %ss", self.cfg.retry_interval)
                self.stop_event.wait(self.cfg.retry_interval)
            except Forbidden:
                raise AgentError("login denied by the store (check the role and its bindings)") from None
            except ClientError as exc:
                raise AgentError(f"login failed: HTTP {exc.status}") from None

    def _tick(self, next_render: float) -> float:
        """Token, leases, and a render pass when due. Returns the next render time."""
        try:
            self._keep_token()
            self.fetcher.renew_leases()
        except ServerUnavailable:
            return time.monotonic() + self.cfg.retry_interval
        except ClientError as exc:
            self.status.errors.append(f"token: HTTP {exc.status}")
            log.error("token could not be kept alive (HTTP %s)", exc.status)
        now = time.monotonic()
        if now < next_render and not self._wake.is_set() and not self.fetcher.leases_due_for_refresh():
            return next_render
        self._wake.clear()
        try:
            changed = self.render()
        except ServerUnavailable:
            log.warning("store unreachable and a secret has no cached value; retrying")
            return now + self.cfg.retry_interval
        except AgentError as exc:
            self.status.errors.append(str(exc))
            log.error("%s", exc)
            if isinstance(exc, PermissionDenied) and self.session is not None and self.session.owned:
                self.session = None  # maybe our token was revoked: log in again before the next try
            return now + self.cfg.retry_interval
        if changed:
            self._on_change()
        return now + (self.cfg.retry_interval if self.status.degraded else self.cfg.poll_interval)

    def _watch(self) -> None:
        """Long-polls the store's KV change notifications (`sys/events/kv`) and wakes the loop when a secret we
        render changed. Stops quietly (polling remains) when the store has no such endpoint or denies it."""
        c = self.client.config
        watcher = Client(ClientConfig(address=c.address, token="", namespace=c.namespace, ca_cert=c.ca_cert,
                                      insecure_skip_verify=c.insecure_skip_verify, timeout=NOTIFY_WAIT + 15))
        since = -1
        try:
            while not self.stop_event.is_set():
                try:
                    body = watcher.request("GET", "sys/events/kv", params={"since": since, "wait": NOTIFY_WAIT},
                                           token=self.client.token) or {}
                except ServerUnavailable:
                    self.stop_event.wait(self.cfg.retry_interval)
                    continue
                except ClientError as exc:
                    if exc.status == 403 and self.session is None:
                        self.stop_event.wait(self.cfg.retry_interval)  # re-login in progress
                        continue
                    log.info("no change notifications from the store (HTTP %s); polling every %ss", exc.status,
                             self.cfg.poll_interval)
                    return
                data = body.get("data") or {}
                events = data.get("events") or []
                if since >= 0 and (data.get("reset") or any(self.fetcher.watches(str(e.get("path", "")))
                                                            for e in events)):
                    self.status.notifications += 1
                    self.wake()
                since = int(data.get("index", since))
        finally:
            watcher.close()

    def _on_change(self) -> None:
        if self.child is None:
            return
        if self.cfg.exec.restart_on_change and self._env_templates:
            log.info("secrets changed: restarting the child")
            self.child.restart(self._env or {})
            self.status.child_restarts = self.child.restarts
        elif self.cfg.exec.signal_on_change:
            self.child.signal(_signum(self.cfg.exec.signal_on_change))

    def run(self) -> int:
        """Runs until stopped (or once). Returns the process exit code."""
        try:
            self._first_render()
        except (AgentError, ConfigError) as exc:
            self.status.errors.append(str(exc))
            log.error("%s", exc)
            self._shutdown()
            return 1
        if self.stop_event.is_set():
            self._shutdown()
            return 0
        if self.cfg.once and self.child is None:
            self._shutdown()
            return 0
        if self.child is not None:
            self.child.start(self._env or {})
        if not self.cfg.once and self.cfg.notifications:
            threading.Thread(target=self._watch, name="strongroom-agent-watch", daemon=True).start()
        next_render = time.monotonic() + self.cfg.poll_interval
        code = 0
        while not self.stop_event.is_set():
            if self.child is not None and (rc := self.child.poll()) is not None:
                code = rc
                break
            if self.cfg.once:  # exec --once: secrets rendered, just supervise the child
                self.stop_event.wait(0.2)
                continue
            next_render = self._tick(next_render)
            self._wake.wait(max(0.05, min(1.0, next_render - time.monotonic())))
        if self.child is not None:
            rc = self.child.stop()
            self.status.child_exit = rc
            code = rc if rc is not None and rc >= 0 else code
        self._shutdown()
        return code

    def _shutdown(self) -> None:
        try:
            if self.cfg.should_revoke() and self.session is not None:
                self.status.revoked_leases = self.fetcher.revoke_all()
                if self.session.owned:
                    self.client.revoke_self()
                    self.status.token_revoked = True
                    log.info("revoked the agent token and %d lease(s)", self.status.revoked_leases)
        except ClientError as exc:
            log.warning("revocation on exit failed (HTTP %s)", exc.status)
        finally:
            self.status.lease_renewals = self.fetcher.renewals
            self.client.close()


def _signum(name: str) -> int:
    name = name.upper()
    try:
        return int(signal.Signals[name if name.startswith("SIG") else f"SIG{name}"])
    except KeyError:
        raise ConfigError(f"unknown signal {name}") from None
