"""Swarm pictures made by hand, for tests and the picture benchmark (no engine needed), and a
visitor's sandbox row holding one (no engine either)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from runner.picture import picture_to_data
from runner.swarm import SwarmNode, SwarmPicture, SwarmService, SwarmTask

T0 = datetime(2016, 6, 20, 10, 0, 0, tzinfo=UTC)
NODE_NAMES = ("manager1", "worker1", "worker2", "worker3", "worker4")


def node(name: str, *, state: str = "ready", availability: str = "active") -> SwarmNode:
    return SwarmNode(
        id=f"id-{name}",
        hostname=name,
        role="manager" if name.startswith("manager") else "worker",
        availability=availability,
        state=state,
        leader=name == "manager1",
        addr="10.213.0.1",
        engine_version="20.10.24",
    )


def service(
    name: str = "vote",
    *,
    image: str = "instavote/vote:latest",
    replicas: int | None = 1,
    parallelism: int = 1,
    delay: float = 0.0,
    update: str | None = None,
) -> SwarmService:
    return SwarmService(
        id=f"id-{name}",
        name=name,
        image=image,
        mode="replicated" if replicas is not None else "global",
        replicas=replicas,
        update_parallelism=parallelism,
        update_delay=delay,
        update_state=update,
        update_message="update in progress" if update == "updating" else None,
        published_ports=("8080->80/tcp",),
    )


def task(
    service_name: str,
    slot: int | None,
    node_name: str | None,
    *,
    image: str = "instavote/vote:latest",
    state: str = "running",
    desired: str = "running",
    at: datetime = T0,
    error: str | None = None,
) -> SwarmTask:
    return SwarmTask(
        id=f"t-{service_name}-{slot}-{node_name}-{state}-{at.timestamp()}",
        service_id=f"id-{service_name}",
        service_name=service_name,
        slot=slot,
        node_id=f"id-{node_name}" if node_name else None,
        node_hostname=node_name,
        image=image,
        desired_state=desired,
        state=state,
        message="started" if state == "running" else state,
        error=error,
        updated_at=at,
    )


def spread(
    service_name: str, replicas: int, nodes: list[str], *, image: str, first_slot: int = 1
) -> list[SwarmTask]:
    """Running tasks placed round-robin over the nodes, as the scheduler spreads them."""
    return [
        task(service_name, slot, nodes[(slot - first_slot) % len(nodes)], image=image)
        for slot in range(first_slot, first_slot + replicas)
    ]


def big_picture(*, nodes: int = 3, tasks: int = 30, history: int = 12) -> SwarmPicture:
    """The benchmark's picture: `tasks` running tasks of five services over `nodes` nodes, with
    some shut-down history."""
    names = list(NODE_NAMES[:nodes])
    services = [
        service(name, image=f"instavote/{name}:movies", replicas=tasks // 5)
        for name in ("vote", "result", "worker", "redis", "db")
    ]
    running = [t for s in services for t in spread(s.name, tasks // 5, names, image=s.image)]
    old = [
        task(
            "vote",
            1 + i % 6,
            names[i % nodes],
            image="instavote/vote:latest",
            state="shutdown",
            desired="shutdown",
            at=T0 - timedelta(seconds=10 + i),
        )
        for i in range(history)
    ]
    return SwarmPicture(nodes=[node(n) for n in names], services=services, tasks=running + old)


def stored(picture: SwarmPicture) -> dict:
    """As the worker stores it: JSON in and out."""
    return json.loads(json.dumps(picture_to_data(picture, at=timezone.now())))


def give_sandbox(key: str = "a" * 24, *, nodes: int = 3, picture: SwarmPicture | None = None):
    """A ready sandbox row of the visitor's, with a stored picture and no engine behind it."""
    from runner.models import Sandbox

    return Sandbox.objects.create(
        name=f"sbx-{key[:6]}",
        visitor=key,
        status=Sandbox.Status.READY,
        nodes=nodes,
        docker_host="unix:///nowhere.sock",
        picture=stored(picture) if picture is not None else None,
    )


def replace_sandbox(key: str, action_line: str, *, nodes: int = 3, **finished: object):
    """Do what the worker does for "New sandbox", without an engine: the visitor's sandbox
    gone, a new ready one with a stored picture, and the queued action recorded as finished
    in the new one (with ``finished`` fields such as ``converged``). Returns the new sandbox."""
    from runner.models import Run, Sandbox

    now = timezone.now()
    Sandbox.objects.filter(visitor=key).exclude(status=Sandbox.Status.GONE).update(
        status=Sandbox.Status.GONE, removed_at=now
    )
    new = Sandbox.objects.create(
        name="sbx-new",
        visitor=key,
        status=Sandbox.Status.READY,
        nodes=nodes,
        picture=stored(big_picture(nodes=nodes, tasks=5)),
    )
    Run.objects.filter(line=action_line, visitor=key).update(
        sandbox=new, status=Run.Status.SUCCEEDED, finished_at=now, **finished
    )
    return new
