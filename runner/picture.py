"""The swarm picture as view data: pure functions from a SwarmPicture to what templates draw.

Nothing here touches the engine or the database. The worker reads the swarm (runner.swarm),
stores it with ``picture_to_data`` (compact JSON, on the Sandbox while live and on each Run as
its before/after snapshot) and stores ``Progress`` while a run converges; the web process turns
those back into ``SwarmView`` and ``Progress`` and renders them. A countdown is computed at
render time from stored timestamps, so a polled fragment counts down without the worker
writing every second.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from .swarm import SwarmNode, SwarmPicture, SwarmService, SwarmTask

FORMAT = 1
PALETTE_SIZE = 8  # .svc0 ... .svc7 in site.css
HISTORY_KEPT = 24  # shut-down tasks kept in a snapshot (swarm keeps 5 per slot)
HISTORY_SHOWN = 24
TERMINAL = frozenset({"complete", "shutdown", "failed", "rejected", "orphaned", "remove"})
FAILED = frozenset({"failed", "rejected", "orphaned"})
WANTED = frozenset({"running", "ready"})  # desired states of tasks meant to run (soon)
UPDATING = frozenset({"updating", "rollback_started"})
PAUSED = frozenset({"paused", "rollback_paused"})
# A service's UpdateStatus.State, in words.
UPDATE_WORDS = {
    "updating": "rolling update in progress",
    "rollback_started": "rolling back",
    "paused": "update paused",
    "rollback_paused": "rollback paused",
    "completed": "update completed",
    "rollback_completed": "rolled back",
}

# Tone (a CSS class and a word) and icon per task state: colour is never the only carrier.
_TASK_ICON = {"ok": "✓", "busy": "…", "stopping": "↓", "bad": "✗", "off": "■", "lost": "?"}
_NODE_ICON = {"ready": "✓", "down": "✗"}


def update_words(state: str) -> str:
    return UPDATE_WORDS.get(state, state.replace("_", " "))


def news(message: str, words: str) -> str:
    """The engine's update message, unless the words beside it already say as much (its
    "update in progress" beside "rolling update in progress")."""
    return "" if message.strip().lower() in words.lower() else message


# -- serialisation ------------------------------------------------------------------------------


def picture_to_data(picture: SwarmPicture, *, at: datetime) -> dict[str, Any]:
    """A compact, JSON-ready copy of a picture (ids dropped; history capped)."""
    live = [t for t in picture.tasks if t.state not in TERMINAL]
    history = sorted(
        (t for t in picture.tasks if t.state in TERMINAL), key=_updated_ts, reverse=True
    )[:HISTORY_KEPT]
    return {
        "v": FORMAT,
        "at": at.isoformat(),
        "nodes": [
            [n.hostname, n.role, n.state, n.availability, n.leader, n.engine_version]
            for n in picture.nodes
        ],
        "services": [
            {
                "name": s.name,
                "image": s.image,
                "mode": s.mode,
                "replicas": s.replicas,
                "parallelism": s.update_parallelism,
                "delay": s.update_delay,
                "update": s.update_state,
                "message": s.update_message,
                "ports": list(s.published_ports),
                "started": s.update_started_at.isoformat() if s.update_started_at else None,
            }
            for s in picture.services
        ],
        "tasks": [
            [
                t.service_name,
                t.slot,
                t.node_hostname,
                t.image,
                t.desired_state,
                t.state,
                t.error or t.message,
                t.updated_at.isoformat() if t.updated_at else None,
                t.created_at.isoformat() if t.created_at else None,
            ]
            for t in (*live, *history)
        ],
    }


def picture_from_data(data: dict[str, Any]) -> tuple[SwarmPicture, datetime]:
    """The picture and the moment it was read, from ``picture_to_data``'s output."""
    nodes = [
        SwarmNode(
            id=hostname,
            hostname=hostname,
            role=role,
            availability=availability,
            state=state,
            leader=leader,
            addr="",
            engine_version=version,
        )
        for hostname, role, state, availability, leader, version in data.get("nodes", [])
    ]
    services = [
        SwarmService(
            id=s["name"],
            name=s["name"],
            image=s["image"],
            mode=s["mode"],
            replicas=s["replicas"],
            update_parallelism=s["parallelism"],
            update_delay=s["delay"],
            update_state=s["update"],
            update_message=s["message"],
            published_ports=tuple(s["ports"]),
            update_started_at=_parse(s.get("started")),  # not in pictures stored before
        )
        for s in data.get("services", [])
    ]
    tasks = [
        SwarmTask(
            id=f"{service}.{slot or node}.{i}",
            service_id=service,
            service_name=service,
            slot=slot,
            node_id=node,
            node_hostname=node,
            image=image,
            desired_state=desired,
            state=state,
            message=message or "",
            error=None,
            updated_at=_parse(updated),
            created_at=_parse(created[0]) if created else None,  # not in older pictures
        )
        for i, (service, slot, node, image, desired, state, message, updated, *created) in (
            enumerate(data.get("tasks", []))
        )
    ]
    at = _parse(data.get("at")) or datetime.now(UTC)
    return SwarmPicture(nodes=nodes, services=services, tasks=tasks), at


# -- what the picture draws ---------------------------------------------------------------------


@dataclass(frozen=True)
class TaskBox:
    name: str  # "vote.3"
    service: str
    colour: int  # index into the palette
    image: str
    tag: str  # ":movies"
    state: str  # the engine's word
    label: str  # what people read: "running", "starting", "running → shutdown"
    tone: str  # ok, busy, stopping, bad, off, lost
    icon: str
    node: str
    current: bool  # runs the service's current image
    note: str  # the engine's message or error
    updated_at: datetime | None

    @property
    def css(self) -> str:
        return f"svc{self.colour} t-{self.tone}"

    @property
    def text(self) -> str:
        """The box in words, for the text table: "vote.3 (instavote/vote:movies, running)"."""
        failure = f": {self.note}" if self.tone == "bad" and self.note else ""
        return f"{self.name} ({self.image}, {self.label}{failure})"


@dataclass(frozen=True)
class NodeColumn:
    name: str
    role: str
    leader: bool
    state: str
    availability: str
    tasks: tuple[TaskBox, ...]

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def icon(self) -> str:
        return _NODE_ICON.get(self.state, "?")

    @property
    def running(self) -> int:
        return sum(1 for t in self.tasks if t.tone == "ok")

    @property
    def tasks_text(self) -> str:
        return "; ".join(t.text for t in self.tasks) or "none"


@dataclass(frozen=True)
class ServiceKey:
    name: str
    colour: int
    image: str
    mode: str
    running: int
    desired: int | None
    update: str | None


@dataclass(frozen=True)
class SwarmView:
    nodes: tuple[NodeColumn, ...]
    unassigned: tuple[TaskBox, ...]  # live tasks no node has taken (yet)
    history: tuple[TaskBox, ...]  # shut-down tasks, newest first
    history_total: int
    services: tuple[ServiceKey, ...]
    at: datetime
    settled: bool

    @property
    def task_count(self) -> int:
        return sum(len(n.tasks) for n in self.nodes) + len(self.unassigned)

    @property
    def lost_count(self) -> int:
        """Tasks the engine still lists on a node that is down: counted apart, as they are
        replaced on the nodes that are up (a service at 6/6 would read as 8 tasks)."""
        return sum(len(n.tasks) for n in self.nodes if not n.ready)

    @property
    def workers(self) -> tuple[NodeColumn, ...]:
        return tuple(n for n in self.nodes if n.role == "worker")


def service_colours(names: list[str]) -> dict[str, int]:
    """A palette slot per service, stable for a name (so before and after match)."""
    taken: set[int] = set()
    colours: dict[str, int] = {}
    for name in sorted(set(names)):
        slot = zlib.crc32(name.encode()) % PALETTE_SIZE
        for probe in range(PALETTE_SIZE):
            candidate = (slot + probe) % PALETTE_SIZE
            if candidate not in taken or len(taken) >= PALETTE_SIZE:
                slot = candidate
                break
        taken.add(slot)
        colours[name] = slot
    return colours


def swarm_view(picture: SwarmPicture, *, at: datetime) -> SwarmView:
    """Columns per node with their live tasks, the shut-down history, and a key of services."""
    colours = service_colours(
        [s.name for s in picture.services] + [t.service_name for t in picture.tasks]
    )
    images = {s.name: s.image for s in picture.services}
    ready = {n.hostname for n in picture.nodes if n.ready}
    known = {n.hostname for n in picture.nodes}
    live: dict[str, list[TaskBox]] = {n.hostname: [] for n in picture.nodes}
    unassigned: list[TaskBox] = []
    history: list[TaskBox] = []
    for task in picture.tasks:
        box = _box(task, colours, images, ready)
        if task.state in TERMINAL:
            history.append(box)
        elif task.node_hostname in known:
            live[task.node_hostname].append(box)
        else:
            unassigned.append(box)
    history.sort(key=lambda b: b.updated_at.timestamp() if b.updated_at else 0.0, reverse=True)
    running = Counter(
        t.service_name for t in picture.tasks if t.running and t.node_hostname in ready
    )
    return SwarmView(
        nodes=tuple(
            NodeColumn(
                name=n.hostname,
                role=n.role,
                leader=n.leader,
                state=n.state,
                availability=n.availability,
                tasks=tuple(sorted(live[n.hostname], key=_box_order)),
            )
            for n in picture.nodes
        ),
        unassigned=tuple(sorted(unassigned, key=_box_order)),
        history=tuple(history[:HISTORY_SHOWN]),
        history_total=len(history),
        services=tuple(
            ServiceKey(
                name=s.name,
                colour=colours[s.name],
                image=s.image,
                mode=s.mode,
                running=running[s.name],
                desired=s.replicas,
                update=s.update_state,
            )
            for s in sorted(picture.services, key=lambda s: s.name)
        ),
        at=at,
        settled=settled(picture),
    )


def _box(
    task: SwarmTask, colours: dict[str, int], images: dict[str, str], ready: set[str]
) -> TaskBox:
    state, desired = task.state, task.desired_state
    node_down = task.node_hostname is not None and task.node_hostname not in ready
    if state in TERMINAL:
        tone = "bad" if state in FAILED else "off"
        label = state
    elif node_down:
        tone, label = "lost", f"{state}, node down"
    elif desired in TERMINAL:
        tone, label = "stopping", f"{state} → {desired}"
    elif state == "running":
        tone, label = "ok", "running"
    else:
        tone, label = "busy", state
    slot = task.slot if task.slot is not None else (task.node_hostname or "?")
    return TaskBox(
        name=f"{task.service_name}.{slot}",
        service=task.service_name,
        colour=colours.get(task.service_name, 0),
        image=task.image,
        tag=":" + image_tag(task.image),
        state=state,
        label=label,
        tone=tone,
        icon=_TASK_ICON[tone],
        node=task.node_hostname or "",
        current=task.image == images.get(task.service_name, task.image),
        note=task.error or task.message,
        updated_at=task.updated_at,
    )


def _box_order(box: TaskBox) -> tuple:
    service, _, slot = box.name.rpartition(".")
    return (service, int(slot) if slot.isascii() and slot.isdigit() else 0, slot)


def image_tag(image: str) -> str:
    """The tag of an image reference ("latest" when none is written)."""
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else "latest"


def settled(picture: SwarmPicture) -> bool:
    """Has the swarm come to rest? Every replicated service runs its desired count of tasks on
    ready nodes with its current image, nothing is starting or stopping, no update is under way,
    and no task runs on a drained node."""
    ready = {n.hostname for n in picture.nodes if n.ready}
    drained = {n.hostname for n in picture.nodes if n.availability == "drain"}
    for service in picture.services:
        if service.update_state in UPDATING:
            return False
        if service.replicas is None:
            continue
        running = [
            t
            for t in picture.running_tasks(service.name)
            if t.node_hostname in ready and t.is_current(service)
        ]
        if len(running) != service.replicas:
            return False
    for task in picture.tasks:
        if task.state in TERMINAL or task.node_hostname not in ready:
            continue
        if task.desired_state in WANTED and task.node_hostname in drained:
            return False
        if task.desired_state in TERMINAL or task.state != "running":
            return False
    return True


def summary(data: dict[str, Any] | None) -> str:
    """One line for a snapshot: tasks per service and per node ("6 tasks: vote 6/6; ...")."""
    if not data:
        return ""
    picture, _ = picture_from_data(data)
    ready = {n.hostname for n in picture.nodes if n.ready}
    running = [t for t in picture.tasks if t.running]
    parts = [f"{len(running)} task{'s' if len(running) != 1 else ''} running"]
    services = []
    for s in sorted(picture.services, key=lambda s: s.name):
        count = sum(1 for t in running if t.service_name == s.name)
        desired = f"/{s.replicas}" if s.replicas is not None else ""
        services.append(f"{s.name} {count}{desired} ({image_tag(s.image)})")
    if services:
        parts.append(", ".join(services))
    if len(picture.nodes) > 1:
        per_node = Counter(t.node_hostname for t in running)
        parts.append(
            ", ".join(
                f"{n.hostname} {per_node[n.hostname]}"
                + ("" if n.hostname in ready else " (down)")
                + (" (drained)" if n.availability == "drain" else "")
                for n in picture.nodes
            )
        )
    return "; ".join(parts)


# -- tasks that keep failing, and what a command touched ----------------------------------------

# When a service's tasks fail, the swarm retries them (after the restart delay, 5 s by default),
# so one failure may be transient: a task that fails once and whose replacement runs is not a
# problem. A failure is taken as persistent, and a run stops waiting for convergence, when
# every desired slot of the service has failed at least FAILS_IN_EVERY_SLOT times on the
# current image with none of its tasks running it (nothing of the new spec can run: a missing
# image is rejected at once, twice within about a second), or when one slot has failed
# FAILS_IN_ONE_SLOT times in a row with no task running it (the others may run: a crash loop).
# Only tasks updated since the command ran count, and only failed or rejected ones with an error.
FAILS_IN_EVERY_SLOT = 2
FAILS_IN_ONE_SLOT = 3
FAILING = frozenset({"failed", "rejected"})


@dataclass(frozen=True)
class TaskFailure:
    """The engine's error for tasks of a service that keep failing."""

    service: str
    error: str
    failing: int  # slots whose tasks keep failing
    total: int  # desired slots
    rejected: bool  # the engine never started them (rather than: they started, then failed)

    @property
    def text(self) -> str:
        how = "could not start" if self.rejected else "could not keep running"
        which = (
            "its tasks"
            if self.failing >= self.total
            else (f"{self.failing} of its {self.total} tasks")
        )
        return f"{self.service}: the engine {how} {which}: {self.error}"


def task_failure(
    picture: SwarmPicture, service_name: str, *, since: datetime | None = None
) -> TaskFailure | None:
    """The service's tasks failing persistently (see FAILS_IN_EVERY_SLOT), else None."""
    service = next((s for s in picture.services if s.name == service_name), None)
    if service is None:
        return None
    fails: dict[object, list[SwarmTask]] = {}
    running: set[object] = set()
    for t in picture.tasks:
        if t.service_name != service_name or t.image != service.image:
            continue
        if since is not None and t.updated_at is not None and t.updated_at < since:
            continue
        key = t.slot if t.slot is not None else t.node_id
        if t.running:
            running.add(key)
        elif t.state in FAILING and t.error:
            fails.setdefault(key, []).append(t)
    failing = {key: tasks for key, tasks in fails.items() if key not in running}
    total = service.replicas if service.replicas is not None else len(fails.keys() | running)
    if not failing or not total:
        return None
    everywhere = len(failing) >= total and all(
        len(tasks) >= FAILS_IN_EVERY_SLOT for tasks in failing.values()
    )
    if not everywhere and max(len(tasks) for tasks in failing.values()) < FAILS_IN_ONE_SLOT:
        return None
    tasks = [t for ts in failing.values() for t in ts]
    # The most frequent error, the newest of those when tied.
    errors = Counter(t.error for t in tasks)
    top = errors.most_common(1)[0][1]
    error = max((t for t in tasks if errors[t.error] == top), key=_updated_ts).error
    return TaskFailure(
        service=service_name,
        error=error or "",
        failing=min(len(failing), total),
        total=total,
        rejected=all(t.state == "rejected" for t in tasks),
    )


def newest_error(picture: SwarmPicture, service_name: str) -> str:
    """The error of the service's newest failed task on its current image, or ""."""
    service = next((s for s in picture.services if s.name == service_name), None)
    failed = [
        t
        for t in picture.tasks
        if t.service_name == service_name
        and t.state in FAILING
        and t.error
        and (service is None or t.is_current(service))
    ]
    if not failed:
        return ""
    return max(failed, key=_updated_ts).error or ""


def removed_tasks_gone(picture: SwarmPicture) -> bool:
    """After `docker service rm`: no task of a service that no longer exists is still live."""
    ids = {s.id for s in picture.services}
    return not any(t.service_id not in ids and t.state not in TERMINAL for t in picture.tasks)


STARTING = frozenset({"new", "pending", "assigned", "accepted", "preparing", "ready", "starting"})


def node_settled(picture: SwarmPicture, node: str, *, services: set[str]) -> bool:
    """After `docker node update --availability X node`: the node's tasks have moved.

    A drained node has no task left (running or stopping), and none of ``services`` (those
    the change concerns: with tasks on the node, or waiting for a node) is still moving
    (see ``still_moving``). Other services, settled or not, are not waited for."""
    found = next((n for n in picture.nodes if node in {n.hostname, n.id}), None)
    if found is None:
        return True
    if found.availability == "drain" and any(
        t.node_id == found.id and t.state not in TERMINAL for t in picture.tasks
    ):
        return False
    return not still_moving(picture, services)


def still_moving(picture: SwarmPicture, services: set[str]) -> list[str]:
    """Those of ``services`` with tasks still on their way: stopping, or starting (a task
    waiting with the engine's reason, such as no suitable node, is not on its way), or fewer
    than the desired count. A service whose tasks keep failing, none running, is at rest: the
    swarm retries it for ever."""
    moving = []
    for service in picture.services:
        if service.name not in services:
            continue
        failing = bool(newest_error(picture, service.name))
        if failing and not picture.running_tasks(service.name):
            continue
        mine = [t for t in picture.tasks if t.service_name == service.name]
        live = [t for t in mine if t.state not in TERMINAL and t.desired_state in WANTED]
        starting = [
            t for t in live if t.state in STARTING and not (t.state == "pending" and t.error)
        ]
        stopping = [t for t in mine if t.state not in TERMINAL and t.desired_state in TERMINAL]
        short = service.replicas is not None and len(live) < service.replicas and not failing
        if starting or stopping or short:
            moving.append(service.name)
    return moving


def stuck_tasks(picture: SwarmPicture, services: set[str]) -> str:
    """Tasks of ``services`` that wait for a node, in words ("vote: 2 tasks wait: no suitable
    node (...)"), or ""."""
    parts = []
    for name in sorted(services):
        waiting = [
            t for t in picture.tasks if t.service_name == name and t.state == "pending" and t.error
        ]
        if waiting:
            count = f"{len(waiting)} task{'s' if len(waiting) != 1 else ''}"
            parts.append(f"{name}: {count} cannot be placed: {waiting[-1].error}")
    return "; ".join(parts)


# -- progress of a converging run ---------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far one service (or, with service "", the whole swarm) has come."""

    service: str
    kind: str  # "update", "rollback" or "converge"
    done: int
    total: int
    running: int
    state: str  # the update state, or "converging" / "converged" / "removed"
    at: datetime
    message: str = ""
    parallelism: int = 0
    delay: float = 0.0
    batch: int = 0
    batches: int = 0
    batch_running: bool = False  # tasks of the current batch are starting (or stopping) now
    next_batch_at: datetime | None = None
    countdown: int | None = None  # seconds to the next batch, as of from_data's `now`

    @property
    def percent(self) -> int:
        return 100 if self.total <= 0 else min(100, math.floor(100 * self.done / self.total))

    @property
    def finished(self) -> bool:
        return self.state not in UPDATING and self.state != "converging"

    @property
    def verb(self) -> str:
        return "updated" if self.kind in {"update", "rollback"} else "running"

    @property
    def state_label(self) -> str:
        return {"removed": "service removed"}.get(self.state) or update_words(self.state)

    @property
    def detail(self) -> str:
        """The engine's message while in flight, when it adds to the state_label."""
        return "" if self.finished else news(self.message, self.state_label)

    def seconds_to_next_batch(self, now: datetime) -> int | None:
        """Whole seconds until the next batch starts, while waiting out --update-delay."""
        if self.next_batch_at is None or self.finished or self.batch_running:
            return None
        return max(0, math.ceil((self.next_batch_at - now).total_seconds()))

    @property
    def batch_label(self) -> str:
        """Which batch of --update-parallelism tasks is under way, or due next."""
        if self.kind == "converge" or not self.batches or self.finished:
            return ""
        size = f"{self.parallelism} at a time" if self.parallelism else "all at once"
        if self.countdown:
            return f"batch {self.batch} of {self.batches} ({size}) starts in {self.countdown} s"
        if self.countdown == 0:
            return f"batch {self.batch} of {self.batches} ({size}) starts now"
        return f"batch {self.batch} of {self.batches} ({size})"

    def to_data(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "kind": self.kind,
            "done": self.done,
            "total": self.total,
            "running": self.running,
            "state": self.state,
            "message": self.message,
            "parallelism": self.parallelism,
            "delay": self.delay,
            "batch": self.batch,
            "batches": self.batches,
            "batch_running": self.batch_running,
            "next_batch_at": self.next_batch_at.isoformat() if self.next_batch_at else None,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], *, now: datetime) -> Progress:
        """A stored progress, with its countdown worked out for `now`."""
        fields = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        progress = cls(
            **{
                **fields,
                "next_batch_at": _parse(data.get("next_batch_at")),
                "at": _parse(data.get("at")) or now,
                "countdown": None,
            }
        )
        return replace(progress, countdown=progress.seconds_to_next_batch(now))


def progress_of(picture: SwarmPicture, service_name: str, *, kind: str, at: datetime) -> Progress:
    """Progress of a converging command: tasks updated (or running) of the desired count, the
    batch of ``--update-parallelism`` under way, and when the next batch is due."""
    ready = {n.hostname for n in picture.nodes if n.ready}
    if not service_name:
        return _swarm_progress(picture, ready, at=at)
    service = next((s for s in picture.services if s.name == service_name), None)
    if service is None:
        return Progress(
            service=service_name, kind=kind, done=0, total=0, running=0, state="removed", at=at
        )
    mine = [
        t
        for t in picture.tasks
        if t.service_name == service_name and t.state not in TERMINAL and t.node_hostname in ready
    ]
    live = [t for t in mine if t.desired_state in WANTED]
    stopping = [t for t in mine if t.desired_state in TERMINAL]
    running = [t for t in live if t.state == "running"]
    current = [t for t in running if t.is_current(service)]
    total = service.replicas if service.replicas is not None else len(running)
    base = Progress(
        service=service_name,
        kind=kind,
        done=min(len(current), total),
        total=total,
        running=len(running),
        state="",
        at=at,
        message=service.update_message or "",
        parallelism=service.update_parallelism,
        delay=service.update_delay,
    )
    if kind == "converge":
        state = "converged" if len(current) == total == len(live) and not stopping else "converging"
        return replace(base, state=state, message="")
    slots = _update_slots(picture, service, ready)
    updated = {key for key, s in slots.items() if s == "updated"}
    in_flight = {key for key, s in slots.items() if s == "in flight"}
    parallelism = service.update_parallelism or total or 1
    batches = math.ceil(total / parallelism) if total else 0
    # Each slot counts once, whether its old task is stopping, its new one starting, or both
    # (stop-first and start-first alike): the batch under way is the one holding the last
    # slot touched, so it never goes back while the update goes forward.
    started = min(total, len(updated | in_flight))
    state = service.update_state or ("completed" if len(updated) >= total else "updating")
    batch = min(batches, max(1, math.ceil(started / parallelism))) if batches else 0
    in_batch = bool(in_flight)
    next_batch_at = None
    if state in UPDATING and not in_batch and started < total and service.update_delay:
        stamps = [t.updated_at for t in current if t.updated_at]
        if stamps:
            next_batch_at = max(stamps) + timedelta(seconds=service.update_delay)
            if started % parallelism == 0:  # a whole batch is done: the next one is due
                batch = min(batches, started // parallelism + 1)
    return replace(
        base,
        done=min(len(updated), total),
        state=state,
        batch=batch,
        batches=batches,
        batch_running=in_batch,
        next_batch_at=next_batch_at,
    )


def _update_slots(
    picture: SwarmPicture, service: SwarmService, ready: set[str]
) -> dict[object, str]:
    """Where each slot of a service stands in a rolling update: "updated" (a task of the
    current image runs in it), "in flight" (its new task is starting, or its old one is being
    stopped for it) or "old". Tasks on a node that is down are left out; a new task that no
    node has taken yet counts."""
    slots: dict[object, str] = {}
    rank = {"old": 0, "in flight": 1, "updated": 2}
    for t in picture.tasks:
        if t.service_name != service.name or t.state in TERMINAL:
            continue
        if t.node_hostname is not None and t.node_hostname not in ready:
            continue
        key = t.slot if t.slot is not None else t.node_hostname
        new = t.is_current(service)
        if new and t.desired_state in WANTED:
            where = "updated" if t.state == "running" else "in flight"
        elif not new and t.desired_state in TERMINAL:
            where = "in flight"  # stopped to make room for its new task
        else:
            where = "old"
        if key not in slots or rank[where] > rank[slots[key]]:
            slots[key] = where
    return slots


def _swarm_progress(picture: SwarmPicture, ready: set[str], *, at: datetime) -> Progress:
    total = sum(s.replicas or 0 for s in picture.services if s.replicas is not None)
    names = {s.name for s in picture.services if s.replicas is not None}
    running = sum(
        1
        for t in picture.tasks
        if t.running and t.service_name in names and t.node_hostname in ready
    )
    return Progress(
        service="",
        kind="converge",
        done=min(running, total),
        total=total,
        running=running,
        state="converged" if settled(picture) else "converging",
        at=at,
    )


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _updated_ts(task: SwarmTask) -> float:
    return task.updated_at.timestamp() if task.updated_at else 0.0
