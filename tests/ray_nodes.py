"""A Ray cluster of real nodes on this machine for the tests: ``ray start`` processes on loopback,
each in its own process group (so a test can kill one node, and teardown kills exactly what it
started -- never ``ray stop``, which would stop every Ray instance on the machine)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Node:
    """One ``ray start --block`` process (head or worker node) and its process group."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, manager_port: int):
        self.log, self.manager_port, self.killed = log, manager_port, False
        with open(log, "wb") as out:
            self.proc = subprocess.Popen([RAY, "start", "--block", *args], env=env, start_new_session=True,
                                         stdout=out, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        """Kill the node outright: its raylet, object store and workers (a lost machine)."""
        self.killed = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)


class Cluster:
    """A head node and more nodes on 127.0.0.1, ``num_cpus`` each; ``address`` joins it."""

    def __init__(self, env: dict[str, str]):
        self.env = dict(env)
        self.temp = Path(tempfile.mkdtemp(prefix="imgen-rc-", dir="/tmp"))  # short: socket paths
        self.port = free_ports(1)[0]
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[Node] = []

    def _common(self) -> tuple[int, list[str]]:
        obj, mgr, agent, agent_grpc, env_agent, metrics = free_ports(6)
        return mgr, ["--node-ip-address=127.0.0.1", f"--object-manager-port={obj}", f"--node-manager-port={mgr}",
                f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={agent_grpc}",
                f"--runtime-env-agent-port={env_agent}", f"--metrics-export-port={metrics}",
                "--object-store-memory=100000000", "--disable-usage-stats"]

    def start_head(self, num_cpus: int = 1) -> Node:
        mgr, common = self._common()
        args = ["--head", f"--port={self.port}", "--include-dashboard=false", f"--temp-dir={self.temp}",
                f"--num-cpus={num_cpus}", *common]
        node = Node(args, self.env, self.temp.with_suffix(".head.log"), mgr)
        self.nodes.append(node)
        self.wait_for_nodes(1)
        return node

    def add_node(self, num_cpus: int = 1, env: dict[str, str] | None = None, name: str = "node") -> Node:
        mgr, common = self._common()
        args = [f"--address={self.address}", f"--num-cpus={num_cpus}", *common]
        before = self.alive_nodes()
        node = Node(args, env or self.env, self.temp.with_suffix(f".{name}{len(self.nodes)}.log"), mgr)
        self.nodes.append(node)
        self.wait_for_nodes(before + 1)
        return node

    def alive_nodes(self) -> int:
        """Alive nodes as the GCS counts them (a short-lived driver-less client)."""
        code = ("from ray._raylet import GcsClient; import sys; c = GcsClient(address=sys.argv[1]); "
                "print(sum(1 for n in c.get_all_node_info(timeout=5).values() if n.state == 0))")
        r = subprocess.run([sys.executable, "-c", code, self.address], env=self.env, capture_output=True,
                           text=True, timeout=60)
        try:
            return int(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return 0

    def wait_for_nodes(self, n: int, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.alive_nodes() == n:
                return
            for node in self.nodes:
                if not node.killed and node.proc.poll() is not None:
                    raise RuntimeError(f"ray start exited: {node.log.read_text(errors='replace')[-2000:]}")
            time.sleep(1)
        raise RuntimeError(f"the cluster did not reach {n} alive node(s) in {timeout}s")

    def stop(self) -> None:
        import shutil

        for node in reversed(self.nodes):
            node.kill()
        self.nodes.clear()
        shutil.rmtree(self.temp, ignore_errors=True)
        for log in self.temp.parent.glob(self.temp.name + ".*.log"):
            log.unlink()


class RecordingFactory:
    """A process factory (for ``map_images``) that runs a model slowly and leaves one empty file
    per batch in ``record_dir`` named NODEID-PID-N: which node did what, while it runs."""

    def __init__(self, model: str, record_dir: str, delay: float):
        self.model, self.record_dir, self.delay = model, record_dir, delay

    def __call__(self, threads: int):
        import ray
        from imgen.processors import ProcessorOptions, build_processor

        inner = build_processor(ProcessorOptions(model=self.model, providers=("cpu",), color_order="bgr"), threads)
        node, record_dir, delay = ray.get_runtime_context().get_node_id(), self.record_dir, self.delay

        def process(images):
            time.sleep(delay * len(images))
            out = inner(images)
            Path(record_dir, f"{node}-{os.getpid()}-{time.monotonic_ns()}").touch()
            return out

        return process
