"""The demo content: the DockerCon 2016 Day 1 notes, in the model's own structure.

Facts, titles, commands and links are exactly as the author wrote them (typos included).
"""

from __future__ import annotations

import datetime as dt

from .documents import ConferenceDoc, DayDoc, HighlightDoc, SnippetDoc, TalkDoc

H = HighlightDoc
BULLET, PARAGRAPH, HEADING = "bullet", "paragraph", "heading"
FOLLOW_UP, SUCCESS = "follow-up", "success"

SEED_COMMANDS = [
    "docker service create --name vote -p 8080:80 instavote/vote",
    "docker service ls",
    "docker service tasks vote",
    "docker service scale vote=6",
    "docker service update vote --image instavote/vote:movies",
    "docker service update vote --image instavote/vote:indent --update-parallelism 2 "
    "--update-delay 10s",
]

DOCKERCON_2016 = ConferenceDoc(
    name="DockerCon 2016",
    slug="dockercon-2016",
    location="Seattle",
    starts_on=dt.date(2016, 6, 19),
)

KEYNOTE = TalkDoc(
    title="Keynote highlights",
    slug="keynote",
    kind="keynote",
    tags=["orchestration", "docker-for-mac"],
    highlights=[
        H(
            "Success",
            style=HEADING,
            kind=SUCCESS,
            children=[
                H(
                    "Docker for Mac allows you to debug code running in a container and live "
                    "reload it. (Need to figure out details)",
                    kind=FOLLOW_UP,
                    tags=["docker-for-mac"],
                ),
                H(
                    "Docker for Mac Beta is now open to anyone at "
                    "https://www.docker.com/products/docker#/mac",
                    tags=["docker-for-mac"],
                ),
                H(
                    "Docker 1.12 will have orchestration features built-in. "
                    "https://blog.docker.com/2016/06/docker-1-12-built-in-orchestration/",
                    tags=["orchestration"],
                    children=[
                        H(
                            "Swarm mode. Self forming, self-healing. No external data store "
                            "required (e.g. Consul or etcd)",
                            tags=["orchestration"],
                        ),
                        H("Secure node to node communication.", tags=["security", "networking"]),
                        H(
                            "There is now a docker service API that handles scaling, rolling "
                            "updates, scheduling, application specific health checks, "
                            "rescheduling on node failure. This look amazing…",
                            tags=["orchestration"],
                        ),
                        H(
                            "Built in routing. Load balancing, DNS based service discovery, no "
                            "separate cluster to setup.",
                            tags=["networking"],
                        ),
                    ],
                ),
            ],
        ),
        H(
            "Example commands with new built-in orchestration:",
            style=PARAGRAPH,
            tags=["orchestration"],
            snippets=[SnippetDoc(lines=list(SEED_COMMANDS))],
        ),
        H(
            "Docker for AWS and Docker for Azure. (Interesting.)",
            children=[
                H("“Seamless” (Not sure we will give up Ansible for deploying…)"),
                H(
                    "Will have to find more links to details… sounds like specialized "
                    "cloudformation templates.",
                    kind=FOLLOW_UP,
                ),
            ],
        ),
        H(
            "(Experimental) Distributed Application Bundle (DAB)… a format for "
            "multi-container applications."
        ),
    ],
)

GOLDEN_TICKET = TalkDoc(
    title="The Golden Ticket: Docker and High Security Microservices",
    slug="the-golden-ticket",
    session_url="http://dockercon2016.sched.org/event/70Ni",
    tags=["security"],
    highlights=[
        H("Use TLS", tags=["networking"]),
        H("Least trust/Least access"),
        H(
            "Security starts with the base OS - does the base OS manage security in a “good” "
            "way? Start with a “minimal” base"
        ),
        H("Minimal kernel"),
        H(
            "Should also have minimal containers. Larger containers = more patching, disk space, "
            "attack surface and post exploitation utilities."
        ),
        H(
            "He’s a fan of Go… only put a single binary in the Docker container. (Shot out to "
            "Richard Bolt who gave a talk on this at our last SLC Docker meetup.)"
        ),
        H(
            "Use Mandatory Access Control (MAC) - which is enabled by default in Docker.",
            children=[
                H("Use aa-genprof to generate an apparmor profile, or use Bane"),
                H(
                    "Profile generators are not perfect, keep an eye after switching to "
                    "“mandatory” mode"
                ),
                H("Default seccomp filter permits 304 calls."),
                H(
                    "Can use sysdig to figure out what calls are open on the system (requires "
                    "kernel module)"
                ),
                H(
                    "Pitfalls of seccomp:",
                    children=[H("Fragile"), H("Libseccomp - go library")],
                ),
            ],
        ),
        H(
            "High security docker microservices",
            style=HEADING,
            children=[
                H("Enable user namespace"),
                H("Use specific apparmor if possible"),
                H("Seccomp whitelist"),
                H("harden host system"),
            ],
        ),
        H("Handling secrets", style=HEADING),
        H(
            "Networking",
            style=HEADING,
            tags=["networking"],
            children=[
                H(
                    "Use TLS. All network traffic should be encrypted and authenticated.",
                    tags=["networking"],
                )
            ],
        ),
        H(
            "Security in general",
            style=HEADING,
            children=[
                H("Develop threat models for each application"),
                H("Log everything and all access. Keep logs centrally."),
            ],
        ),
    ],
)

DOCKER_FOR_DEVELOPERS = TalkDoc(
    title="Docker for Developers 1 and 2",
    slug="docker-for-developers",
    kind="sessions",
    tags=["docker-for-mac", "docker-cloud"],
    highlights=[
        H(
            "Various demos of how native Docker for Mac/Windows and Docker Cloud make development "
            "easier. Both show promise.",
            style=PARAGRAPH,
        ),
        H(
            "Docker Cloud demos involved too much clicking and UI work… will have to investigate "
            "what APIs are available.",
            style=PARAGRAPH,
            kind=FOLLOW_UP,
            tags=["docker-cloud"],
        ),
        H("Installed Docker for Mac yesterday and so far so good.", style=PARAGRAPH),
    ],
)

IMMUTABLE_INFRASTRUCTURE = TalkDoc(
    title="Immutable Infrastructure",
    slug="immutable-infrastructure",
    tags=["devops"],
    highlights=[
        H("Limit number of dependencies and libraries in projects"),
        H("Shorten lead time"),
        H(
            "High performing organizations:",
            children=[
                H("Deploy more often"),
                H("Lead time is short"),
                H("High change success rate"),
                H("Low MTTR"),
            ],
        ),
        H("Overall, entertaining talk without a lot of “new” content.", style=PARAGRAPH),
    ],
)

DOCKERCON_2016_DAY_1 = DayDoc(
    conference=DOCKERCON_2016,
    number=1,
    title="DockerCon 2016 Highlights Day 1",
    date=dt.date(2016, 6, 20),
    intro=(
        "At 3DSIM we believe in continuing education and investing in our developers. We put "
        "that into practice in many ways and one of those ways is to encourage developers to "
        "attend a conference. This year I’m attending DockerCon in Seattle. Here are some "
        "running higlights…"
    ),
    summary=(
        "Good first day. Highlight for me is Docker 1.12 orchestration features… will be using "
        "those in our pipelines as soon as they become available."
    ),
    author="Ryan Walls",
    author_title="Software Engineering Manager at 3DSIM",
    next_day_title="DockerCon 2016 Highlights Day 2",
    talks=[KEYNOTE, GOLDEN_TICKET, DOCKER_FOR_DEVELOPERS, IMMUTABLE_INFRASTRUCTURE],
)

DEMO_DAYS = [DOCKERCON_2016_DAY_1]
