"""The supervised child of `strongroom agent exec`: started with secrets in its environment, signalled or
restarted when they change, stopped (SIGTERM, then SIGKILL after a grace period) when the agent stops."""

from __future__ import annotations

import os
import signal
import subprocess


class Child:
    def __init__(self, command: list[str], kill_timeout: float = 10.0) -> None:
        if not command:
            raise ValueError("exec needs a command")
        self.command, self.kill_timeout = command, kill_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(self.command, env={**os.environ, **env})

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.kill_timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def restart(self, env: dict[str, str]) -> None:
        self.stop()
        self.restarts += 1
        self.start(env)
