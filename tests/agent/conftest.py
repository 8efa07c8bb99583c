"""Fixtures: a real `strongroom server -dev`, an AppRole for the agent, and a KV v2 secret it may read."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import hvac
import pytest

from strongroom.agent.config import AgentConfig, AuthConfig
from strongroom.agent.runner import Agent
from tests.harness import Server, strongroom_server

POLICY = 'path "secret/data/app*" { capabilities = ["read"] }\npath "db*" { capabilities = ["read"] }\n'


@dataclass
class Env:
    server: Server
    root: hvac.Client
    mount: str
    role_id_file: str
    secret_id_file: str
    tmp: str

    def new_secret_id(self) -> None:
        sid = self.root.auth.approle.generate_secret_id("agent", mount_point=self.mount)["data"]["secret_id"]
        with open(self.secret_id_file, "w") as f:
            f.write(sid)

    def auth(self) -> AuthConfig:
        return AuthConfig(method="approle", mount=self.mount, role_id_file=self.role_id_file,
                          secret_id_file=self.secret_id_file)

    def config(self, **kw: object) -> AgentConfig:
        return AgentConfig(address=self.server.addr, auth=self.auth(), **kw)  # type: ignore[arg-type]

    def put(self, key: str, data: dict[str, str]) -> None:
        self.root.secrets.kv.v2.create_or_update_secret(key, secret=data, mount_point="secret")

    def accessor_alive(self, accessor: str) -> bool:
        try:
            self.root.auth.token.lookup_accessor(accessor)
        except hvac.exceptions.VaultError:
            return False
        return True


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with strongroom_server() as s:
        yield s


@pytest.fixture
def env(server: Server, tmp_path) -> Env:
    root = hvac.Client(url=server.addr, token=server.root_token)
    mount = f"approle-{uuid.uuid4().hex[:6]}"
    root.sys.enable_auth_method("approle", path=mount)
    root.sys.create_or_update_policy("agent", POLICY)
    root.auth.approle.create_or_update_approle("agent", token_policies=["agent"], token_ttl="1h",
                                               mount_point=mount)
    role_id = root.auth.approle.read_role_id("agent", mount_point=mount)["data"]["role_id"]
    (tmp_path / "role_id").write_text(role_id)
    e = Env(server, root, mount, str(tmp_path / "role_id"), str(tmp_path / "secret_id"), str(tmp_path))
    e.new_secret_id()
    return e


def wait_for(cond: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """An Agent on a background thread, as a sidecar would run it."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.code = self.agent.run()

    def stop(self) -> int | None:
        self.agent.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()
        return self.code


@pytest.fixture
def running() -> Iterator[Callable[[Agent], Running]]:
    started: list[Running] = []

    def start(agent: Agent) -> Running:
        r = Running(agent)
        started.append(r)
        return r

    yield start
    for r in started:
        if r.thread.is_alive():
            r.stop()


def read(path: object) -> str:
    with open(str(path), encoding="utf-8") as f:
        return f.read()
