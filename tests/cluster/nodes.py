"""A throwaway Redis Cluster made of this machine's `redis-server` processes:
masters and replicas on free ports in a temporary directory, joined by
`redis-cli --cluster create`, stopped and removed afterwards."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

START_SECONDS = 60.0


class ClusterUnavailable(Exception):
    """The cluster could not be started here (no redis-server, ports, a timeout)."""


def _free_ports(count: int) -> list[int]:
    # Cluster nodes also listen on port + 10000 (the bus): keep both below 65536.
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 < 65536 and port not in ports:
            with socket.socket() as bus:
                try:
                    bus.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            ports.append(port)
    return ports


@dataclass
class Node:
    port: int
    proc: subprocess.Popen[bytes]

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, socket_connect_timeout=5)

    def alive(self) -> bool:
        return self.proc.poll() is None


@dataclass
class LocalCluster:
    masters: int = 3
    replicas_per_master: int = 1
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="chat-redis-cluster-")))
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes if n.alive())

    def start(self) -> LocalCluster:
        server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if server is None or cli is None:
            raise ClusterUnavailable("redis-server or redis-cli is not installed")
        try:
            for port in _free_ports(self.masters * (1 + self.replicas_per_master)):
                self.nodes.append(Node(port, self._server(server, port)))
            for node in self.nodes:
                self._wait(lambda n=node: bool(n.client().ping()), f"node {node.port} to answer")
            create = [cli, "--cluster", "create", *(f"127.0.0.1:{n.port}" for n in self.nodes)]
            create += ["--cluster-replicas", str(self.replicas_per_master), "--cluster-yes"]
            done = subprocess.run(create, capture_output=True, timeout=START_SECONDS, check=False)
            if done.returncode != 0:
                raise ClusterUnavailable(f"redis-cli --cluster create failed: {done.stdout[-500:]!r}")
            for node in self.nodes:
                self._wait(lambda n=node: self.state(n) == "ok", f"node {node.port} to report cluster_state:ok")
            self._wait(self._replicas_synced, "every replica to be in sync")
        except (OSError, subprocess.SubprocessError, redis.RedisError) as exc:
            self.stop()
            raise ClusterUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except ClusterUnavailable:
            self.stop()
            raise
        return self

    def _server(self, server: str, port: int) -> subprocess.Popen[bytes]:
        args = [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"]
        args += ["--cluster-config-file", str(self.directory / f"nodes-{port}.conf"), "--dir", str(self.directory)]
        args += ["--save", "", "--appendonly", "no", "--cluster-node-timeout", "2000"]
        with (self.directory / f"redis-{port}.log").open("wb") as log:
            return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    @staticmethod
    def _wait(check: object, what: str) -> None:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if check():  # type: ignore[operator]
                    return
            except (redis.RedisError, OSError):
                pass
            if time.monotonic() > deadline:
                raise ClusterUnavailable(f"timed out waiting for {what}")
            time.sleep(0.1)

    @staticmethod
    def state(node: Node) -> str:
        with node.client() as client:
            info = client.execute_command("CLUSTER INFO")  # parsed into a dict by redis-py
        return str(info.get("cluster_state", "unknown"))

    def roles(self) -> dict[int, str]:
        """port -> "master" or "slave", as each live node sees itself."""
        out = {}
        for node in self.nodes:
            if node.alive():
                with node.client() as client:
                    out[node.port] = str(client.info("replication")["role"])
        return out

    def _replicas_synced(self) -> bool:
        for node in self.nodes:
            with node.client() as client:
                info = client.info("replication")
                if info["role"] == "slave" and info.get("master_link_status") != "up":
                    return False
        return True

    def master_of(self, key: str) -> Node:
        """The live node serving `key`'s slot (a key or a shard channel)."""
        with next(n for n in self.nodes if n.alive()).client() as client:
            slot = int(client.execute_command("CLUSTER KEYSLOT", key))
            for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    return next(n for n in self.nodes if n.port == int(master[1]))
        raise LookupError(key)

    def kill(self, node: Node) -> None:
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait()

    def wait_failed_over(self, old: Node, key: str) -> Node:
        """Wait until a replica serves `key`'s slot in place of `old`, and every live node says ok."""
        live = [n for n in self.nodes if n.alive()]
        self._wait(lambda: self.master_of(key) is not old, f"a replica to take over from {old.port}")
        for node in live:
            self._wait(lambda n=node: self.state(n) == "ok", f"node {node.port} to report cluster_state:ok")
        return self.master_of(key)

    def stop(self) -> None:
        for node in self.nodes:
            if node.alive():
                node.proc.terminate()
        for node in self.nodes:
            try:
                node.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
        self.nodes.clear()
        shutil.rmtree(self.directory, ignore_errors=True)
