"""Read a sandbox's swarm state (nodes, services, tasks) for the swarm picture and for checks.

Reads go through the Engine API (the docker SDK's low-level client) rather than parsing CLI
output: the API carries what the picture needs (slots, desired state, update status, the
image each task actually runs) and does not change with the CLI's version.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import docker

# Docker timestamps carry nanoseconds; datetime keeps microseconds.
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclass(frozen=True)
class SwarmNode:
    """A node as `docker node ls` shows it."""

    id: str
    hostname: str
    role: str  # "manager" or "worker"
    availability: str  # "active", "pause", "drain"
    state: str  # "ready", "down", "unknown", "disconnected"
    leader: bool
    addr: str
    engine_version: str

    @property
    def ready(self) -> bool:
        return self.state == "ready"


@dataclass(frozen=True)
class SwarmService:
    """A service's spec and rolling-update status."""

    id: str
    name: str
    image: str  # as requested, e.g. "instavote/vote:indent" (any @digest dropped)
    mode: str  # "replicated" or "global"
    replicas: int | None  # None for global services
    update_parallelism: int
    update_delay: float  # seconds
    update_state: str | None  # "updating", "completed", "paused", "rollback_started", ...
    update_message: str | None
    published_ports: tuple[str, ...]  # e.g. ("8080->80/tcp",)
    update_started_at: datetime | None = None  # when its latest rolling update began


@dataclass(frozen=True)
class SwarmTask:
    """One task of a service, as `docker service ps` shows it."""

    id: str
    service_id: str
    service_name: str
    slot: int | None  # None for global services (one task per node instead)
    node_id: str | None
    node_hostname: str | None
    image: str
    desired_state: str  # "running", "shutdown", ...
    state: str  # "new", "pending", "assigned", "preparing", "starting", "running", ...
    message: str
    error: str | None
    updated_at: datetime | None
    created_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.state == "running" and self.desired_state == "running"

    def is_current(self, service: SwarmService) -> bool:
        """Whether this task runs the service's current spec: its image, and, once a rolling
        update has begun, made for it. An update that keeps the image (`--force`, or other
        settings) replaces every task with one of the same image: by image alone, all of
        them looked updated from the start."""
        if self.image != service.image:
            return False
        started, created = service.update_started_at, self.created_at
        return started is None or created is None or created >= started


@dataclass(frozen=True)
class SwarmPicture:
    """Everything the swarm picture draws, read at one moment."""

    nodes: list[SwarmNode]
    services: list[SwarmService]
    tasks: list[SwarmTask]

    def running_tasks(self, service_name: str | None = None) -> list[SwarmTask]:
        """Tasks running now (and meant to), optionally of one service only."""
        return [
            t
            for t in self.tasks
            if t.running and (service_name is None or t.service_name == service_name)
        ]

    def update_progress(self, service_name: str) -> tuple[int, int]:
        """(tasks already running the service's current spec, desired task count)."""
        service = next(s for s in self.services if s.name == service_name)
        running = self.running_tasks(service_name)
        done = sum(1 for t in running if t.is_current(service))
        total = service.replicas if service.replicas is not None else len(running)
        return done, total


def read_swarm(docker_host: str, *, timeout: int = 5) -> SwarmPicture:
    """Read nodes, services and tasks from a swarm manager reached at docker_host."""
    api = _client(docker_host, timeout)
    try:
        raw_nodes = api.nodes()
        raw_services = api.services()
        raw_tasks = api.tasks()
    finally:
        api.close()
    nodes = [_node(n) for n in raw_nodes]
    services = [_service(s) for s in raw_services]
    hostnames = {n.id: n.hostname for n in nodes}
    names = {s.id: s.name for s in services}
    tasks = [_task(t, names, hostnames) for t in raw_tasks]
    tasks.sort(key=lambda t: (t.service_name, t.slot or 0, t.node_hostname or "", _ts(t)))
    nodes.sort(key=lambda n: (n.role != "manager", n.hostname))
    return SwarmPicture(nodes=nodes, services=services, tasks=tasks)


def read_nodes(docker_host: str, *, timeout: int = 5) -> list[SwarmNode]:
    """The swarm's nodes, managers first."""
    api = _client(docker_host, timeout)
    try:
        nodes = [_node(n) for n in api.nodes()]
    finally:
        api.close()
    return sorted(nodes, key=lambda n: (n.role != "manager", n.hostname))


_API_VERSIONS: dict[str, str] = {}


def _client(docker_host: str, timeout: int) -> docker.APIClient:
    # "auto" negotiates down to the engine's API version (Debian's 20.10 speaks 1.41); that
    # costs a round trip, so the answer is remembered per engine for the next client.
    version = _API_VERSIONS.get(docker_host, "auto")
    client = docker.APIClient(base_url=docker_host, version=version, timeout=timeout)
    _API_VERSIONS[docker_host] = client.api_version
    return client


def ping(docker_host: str, *, timeout: float = 3) -> bool:
    """Does the engine answer? False for any failure to reach it."""
    return Ping(docker_host, timeout=timeout).answered()


class Ping:
    """A ping sent now and read later, so the engine answers while the caller does other
    work (the worker claims the run meanwhile). On a Unix socket, every sandbox's, it is a
    plain ``GET /_ping``: building a docker.APIClient for it cost more than the request.
    Another host (a shared engine over TCP) is asked through the API client when read."""

    REQUEST = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"

    def __init__(self, docker_host: str, *, timeout: float = 3) -> None:
        self.docker_host = docker_host
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._sent = False
        if docker_host.startswith("unix://"):
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock.settimeout(timeout)
                self._sock.connect(docker_host.removeprefix("unix://"))
                self._sock.sendall(self.REQUEST)
                self._sent = True
            except OSError:
                self.close()

    def answered(self) -> bool:
        """Whether the engine answered "200 OK" (waiting up to the timeout); reads it once."""
        if not self.docker_host.startswith("unix://"):
            return _ping_client(self.docker_host, self.timeout)
        if not self._sent or self._sock is None:
            return False
        reply = b""
        try:
            while b"\r\n" not in reply and len(reply) < 1024:
                chunk = self._sock.recv(1024)
                if not chunk:
                    break
                reply += chunk
        except OSError:
            return False
        finally:
            self.close()
        status = reply.split(b"\r\n", 1)[0].split()
        return len(status) >= 2 and status[0].startswith(b"HTTP/") and status[1] == b"200"

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _ping_client(docker_host: str, timeout: float) -> bool:
    try:
        client = _client(docker_host, timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        _API_VERSIONS.pop(docker_host, None)  # a replaced engine may speak another version
        return False


def _node(raw: dict[str, Any]) -> SwarmNode:
    spec = raw.get("Spec", {})
    status = raw.get("Status", {})
    description = raw.get("Description", {})
    manager = raw.get("ManagerStatus") or {}
    return SwarmNode(
        id=raw["ID"],
        hostname=description.get("Hostname", ""),
        role=spec.get("Role", "worker"),
        availability=spec.get("Availability", "active"),
        state=status.get("State", "unknown"),
        leader=bool(manager.get("Leader")),
        addr=status.get("Addr", ""),
        engine_version=description.get("Engine", {}).get("EngineVersion", ""),
    )


def _service(raw: dict[str, Any]) -> SwarmService:
    spec = raw.get("Spec", {})
    mode = spec.get("Mode", {})
    update = spec.get("UpdateConfig", {})
    status = raw.get("UpdateStatus") or {}
    ports = raw.get("Endpoint", {}).get("Ports", [])
    return SwarmService(
        id=raw["ID"],
        name=spec.get("Name", ""),
        image=_image(spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "")),
        mode="global" if "Global" in mode else "replicated",
        replicas=mode["Replicated"].get("Replicas", 1) if "Replicated" in mode else None,
        update_parallelism=int(update.get("Parallelism", 1)),
        update_delay=int(update.get("Delay", 0)) / 1e9,
        update_state=status.get("State"),
        update_message=status.get("Message"),
        update_started_at=_parse_time(status.get("StartedAt")),
        published_ports=tuple(
            f"{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
            for p in ports
        ),
    )


def _task(raw: dict[str, Any], services: dict[str, str], hostnames: dict[str, str]) -> SwarmTask:
    status = raw.get("Status", {})
    container = raw.get("Spec", {}).get("ContainerSpec", {})
    node_id = raw.get("NodeID") or None
    return SwarmTask(
        id=raw["ID"],
        service_id=raw.get("ServiceID", ""),
        service_name=services.get(raw.get("ServiceID", ""), ""),
        slot=raw.get("Slot"),
        node_id=node_id,
        node_hostname=hostnames.get(node_id) if node_id else None,
        image=_image(container.get("Image", "")),
        desired_state=raw.get("DesiredState", ""),
        state=status.get("State", ""),
        message=status.get("Message", ""),
        error=status.get("Err") or None,
        updated_at=_parse_time(raw.get("UpdatedAt")),
        created_at=_parse_time(raw.get("CreatedAt")),
    )


def _image(reference: str) -> str:
    # Where a registry answered, the manager pins "image:tag@sha256:..."; the tag is what
    # the notes and the picture talk about.
    return reference.split("@", 1)[0]


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(_FRACTION.sub(r"\1", value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _ts(task: SwarmTask) -> float:
    return -(task.updated_at.timestamp() if task.updated_at else 0.0)
