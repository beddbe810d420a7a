"""A throw-away RabbitMQ cluster of N nodes on this machine, for tests that kill a broker node.

Each node is a separate Erlang VM with its own name (``kervan-c1@localhost`` …), AMQP port,
distribution port, data, log and pid files under one temporary directory, and an empty plugin
list (so no management listener fights over 15672). Nothing here touches the machine's own
node (``rabbit@localhost``) or its files: every ``rabbitmqctl`` call names its node with ``-n``,
node names are checked against that, and the nodes share the Erlang cookie already in the
RabbitMQ user's home without writing it.

Run as root, the nodes run as the ``rabbitmq`` user (``runuser``), like the packaged service;
otherwise as the current user with that user's own cookie.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SCRIPTS = Path(os.environ.get("KERVAN_RABBITMQ_SCRIPTS", "/usr/lib/rabbitmq/bin"))
# The machine's own broker; a cluster of ours must never be able to address it.
RESERVED_NODES = frozenset({"rabbit@localhost", f"rabbit@{socket.gethostname()}"})


class ClusterError(RuntimeError):
    """The local cluster could not be started or driven; the message says which node and why."""


@dataclass
class Node:
    index: int
    name: str
    port: int
    dist_port: int
    home: Path
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def pid_file(self) -> Path:
        return self.home / "node.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "stdout.log"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def beam_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no output)"


class LocalCluster:
    """``with LocalCluster(3) as c:`` → three clustered nodes; ``c.amqp_urls`` one URL per node."""

    def __init__(self, n: int = 3, base_port: int = 5681, workdir: str | Path | None = None, *,
                 prefix: str = "kervan-c", dist_offset: int = 20000, start_timeout: float = 180) -> None:
        if n < 1:
            raise ValueError("a cluster needs at least one node")
        self.n = n
        self.base_port = base_port
        self.prefix = prefix
        self.dist_offset = dist_offset
        self.start_timeout = start_timeout
        self._parent = Path(workdir) if workdir else None
        self.root: Path | None = None
        self.nodes: list[Node] = []
        self._as_rabbitmq = os.geteuid() == 0 and _user_exists("rabbitmq")

    # -- public -------------------------------------------------------------------------------
    @property
    def amqp_urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """All nodes as one ``[amqp] url`` value (comma-separated; see bridge.topology.amqp_urls)."""
        return ",".join(self.amqp_urls)

    def node(self, which: int | str) -> Node:
        """A node by 1-based index or by name."""
        for n in self.nodes:
            if which in (n.index, n.name):
                return n
        raise KeyError(f"no node {which!r} in this cluster")

    def start(self) -> LocalCluster:
        self._preflight()
        self.root = Path(tempfile.mkdtemp(prefix="kervan-cluster-", dir=self._parent))
        self.root.chmod(0o755)
        try:
            self.nodes = [self._make_node(i) for i in range(1, self.n + 1)]
            self._check_reachable()
            # Boot all VMs at once (the slow part), then cluster them one by one.
            for node in self.nodes:
                self._spawn(node)
            for node in self.nodes:
                self._await_startup(node)
            first = self.nodes[0]
            for node in self.nodes[1:]:
                self.ctl(node, "stop_app")
                self.ctl(node, "join_cluster", first.name)
                self.ctl(node, "start_app", timeout=self.start_timeout)
                self._await_startup(node)
            self._await_running(first, {n.name for n in self.nodes})
        except BaseException:
            self.stop()
            raise
        return self

    def cluster_status(self, via: int | str | None = None) -> dict:
        node = self.node(via) if via is not None else self._any_running()
        return json.loads(self.ctl(node, "cluster_status", "--formatter", "json"))

    def running_nodes(self, via: int | str | None = None) -> set[str]:
        return set(self.cluster_status(via).get("running_nodes", []))

    def quorum_status(self, queue: str, vhost: str = "/", via: int | str | None = None) -> list[dict]:
        """Raft members of a quorum queue as ``rabbitmq-queues quorum_status`` reports them."""
        node = self.node(via) if via is not None else self._any_running()
        out = self._run(node, "rabbitmq-queues", "quorum_status", queue, "--vhost", vhost, "--formatter", "json")
        return json.loads(out)

    def leader(self, queue: str, vhost: str = "/") -> Node:
        for member in self.quorum_status(queue, vhost):
            if str(member.get("Raft State", "")).lower() == "leader":
                return self.node(member["Node Name"])
        raise ClusterError(f"quorum queue {queue!r} has no leader now")

    def clients_of(self, which: int | str) -> int:
        """How many AMQP client connections the node serves now (connection names end in its port)."""
        node = self.node(which)
        via = node if node.proc is not None and node.proc.poll() is None else self._any_running()
        rows = json.loads(self.ctl(via, "list_connections", "name", "--formatter", "json"))
        return sum(1 for r in rows if str(r.get("name", "")).endswith(f"127.0.0.1:{node.port}"))

    def kill(self, which: int | str) -> None:
        """SIGKILL the node's Erlang VM (found by its pid file): a crash, no goodbye to its peers."""
        node = self.node(which)
        pid = node.beam_pid()
        if pid is None:
            raise ClusterError(f"{node.name}: no pid file at {node.pid_file}")
        os.kill(pid, signal.SIGKILL)
        if node.proc is not None:
            node.proc.wait(timeout=30)
            node.proc = None
        _wait_port_closed(node.port, 30)

    def restart(self, which: int | str) -> None:
        """Start a killed or stopped node again on its own data; it rejoins the cluster by itself."""
        node = self.node(which)
        if node.proc is not None and node.proc.poll() is None:
            raise ClusterError(f"{node.name} is still running")
        node.pid_file.unlink(missing_ok=True)
        self._spawn(node)
        self._await_startup(node)

    def stop(self) -> None:
        """Stop every node and remove everything this cluster created."""
        live = [n for n in self.nodes if n.proc is not None]
        for node in live:
            pid = node.beam_pid()
            # SIGTERM is RabbitMQ's graceful stop; all nodes at once, their data goes anyway.
            if pid:
                _signal(pid, signal.SIGTERM)
            else:
                node.proc.terminate()
        deadline = time.monotonic() + 30
        for node in live:
            try:
                node.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pid = node.beam_pid()
                if pid:
                    _signal(pid, signal.SIGKILL)
                node.proc.kill()
                node.proc.wait(timeout=30)
            node.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    # -- CLI ----------------------------------------------------------------------------------
    def ctl(self, node: Node, *args: str, timeout: float = 60) -> str:
        return self._run(node, "rabbitmqctl", *args, timeout=timeout)

    def _run(self, node: Node, tool: str, *args: str, timeout: float = 60) -> str:
        if node.name in RESERVED_NODES:  # belt and braces: _make_node already refuses such names
            raise ClusterError(f"refusing to drive {node.name}")
        cmd = [*self._launcher(), str(SCRIPTS / tool), "-n", node.name, *args]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=self._cli_env(),
                                  cwd=self.root)
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"{tool} -n {node.name} {' '.join(args)}: no answer in {timeout:.0f}s") from exc
        if done.returncode != 0:
            raise ClusterError(f"{tool} -n {node.name} {' '.join(args)} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-1500:]}")
        return done.stdout

    # -- internals ----------------------------------------------------------------------------
    def _preflight(self) -> None:
        for tool in ("rabbitmq-server", "rabbitmqctl", "rabbitmq-queues"):
            if not (SCRIPTS / tool).exists():
                raise ClusterError(f"{SCRIPTS / tool} not found (set KERVAN_RABBITMQ_SCRIPTS to RabbitMQ's bin dir)")
        if self._as_rabbitmq and not shutil.which("runuser"):
            raise ClusterError("running as root but runuser is missing: cannot start nodes as the rabbitmq user")
        for i in range(1, self.n + 1):
            for port in (self.base_port + i - 1, self.base_port + self.dist_offset + i - 1):
                if _port_open(port):
                    raise ClusterError(f"port {port} is already in use on 127.0.0.1 (a leftover node "
                                       f"{self.prefix}{i}@localhost? stop it with "
                                       f"rabbitmqctl -n {self.prefix}{i}@localhost stop)")

    def _make_node(self, i: int) -> Node:
        name = f"{self.prefix}{i}@localhost"
        if name in RESERVED_NODES or not self.prefix or self.prefix.startswith("rabbit"):
            raise ClusterError(f"node name {name} could clash with the machine's own broker")
        node = Node(i, name, self.base_port + i - 1, self.base_port + self.dist_offset + i - 1,
                    self.root / f"{self.prefix}{i}")
        node.home.mkdir()
        (node.home / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{node.port}\n")
        # Sourced by the start scripts instead of /etc/rabbitmq/rabbitmq-env.conf (whose NODENAME
        # is the machine's node); keeps epmd and the distribution port on loopback like it.
        (node.home / "rabbitmq-env.conf").write_text(
            f"NODENAME={name}\nERL_EPMD_ADDRESS=127.0.0.1\n"
            'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n')
        (node.home / "enabled_plugins").write_text("[].\n")
        if self._as_rabbitmq:
            owner = pwd.getpwnam("rabbitmq")
            for path in (self.root, node.home, *node.home.iterdir()):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        return node

    def _check_reachable(self) -> None:
        if self._as_rabbitmq and subprocess.run([*self._launcher(), "test", "-w", str(self.nodes[0].home)]).returncode:
            raise ClusterError(f"the rabbitmq user cannot write {self.root}: pick a workdir it can reach "
                               "(a private pytest tmp_path is not; the default temp dir is)")

    def _node_env(self, node: Node) -> dict[str, str]:
        h = node.home
        return {
            **self._cli_env(),
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(node.port),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(h / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(h / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(h / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(h / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(h / "mnesia"),
            "RABBITMQ_LOG_BASE": str(h / "log"),
            "RABBITMQ_PID_FILE": str(node.pid_file),
        }

    def _cli_env(self) -> dict[str, str]:
        # Nothing RabbitMQ- or Erlang-specific from our own environment leaks into the nodes.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_", "NODENAME"))}
        env["ERL_EPMD_ADDRESS"] = "127.0.0.1"
        return env

    def _launcher(self) -> list[str]:
        return ["runuser", "-u", "rabbitmq", "--"] if self._as_rabbitmq else []

    def _spawn(self, node: Node) -> None:
        log = open(node.log_file, "ab")  # noqa: SIM115 - the child holds it; closed below
        try:
            node.proc = subprocess.Popen([*self._launcher(), str(SCRIPTS / "rabbitmq-server")], cwd=node.home,
                                         env=self._node_env(node), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()

    def _await_startup(self, node: Node) -> None:
        """Poll until the node's app has booted; a node that exits early fails at once with its log."""
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while time.monotonic() < deadline:
            if node.proc is None or node.proc.poll() is not None:
                raise ClusterError(f"{node.name} exited while starting:\n{node.log_tail()}")
            try:
                self.ctl(node, "await_startup", "--timeout", "10", timeout=30)
                return
            except ClusterError as exc:
                last = str(exc)
                time.sleep(1)
        raise ClusterError(f"{node.name} did not start in {self.start_timeout:.0f}s: {last}\n{node.log_tail()}")

    def _await_running(self, via: Node, expected: set[str]) -> None:
        deadline = time.monotonic() + self.start_timeout
        running: set[str] = set()
        while time.monotonic() < deadline:
            running = set(json.loads(self.ctl(via, "cluster_status", "--formatter", "json")).get("running_nodes", []))
            if running >= expected:
                return
            time.sleep(1)
        raise ClusterError(f"cluster did not form: running {sorted(running)}, expected {sorted(expected)}")

    def _any_running(self) -> Node:
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                return n
        raise ClusterError("no node of the cluster is running")


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_port_closed(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _port_open(port) and time.monotonic() < deadline:
        time.sleep(0.2)
