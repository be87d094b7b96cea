"""The command policy: which snippet lines may run in a sandbox, and exactly how (no Django)."""

from __future__ import annotations

import re
import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.policy import Decision, PolicyLimits, check_command

OWNER = "alice"
LABELS = ("--label", "confnotes.owner=alice", "--container-label", "confnotes.owner=alice")
LIMITS = ("--limit-memory", "64M", "--limit-cpu", "0.25", "--limit-pids", "128")
CREATE_ADDS = ("--detach", *LABELS, *LIMITS)
READ_ONLY = ("--read-only", "--mount", "type=tmpfs,destination=/tmp,tmpfs-size=16M")
DIGEST = "sha256:" + "ab" * 32


def same(line: str) -> tuple[str, ...]:
    """The line runs exactly as written."""
    return tuple(shlex.split(line))


def detached(line: str) -> tuple[str, ...]:
    """The line runs with `--detach` appended."""
    return (*same(line), "--detach")


def tailed(line: str) -> tuple[str, ...]:
    """`service logs` runs with the default `--tail` appended."""
    return (*same(line), "--tail", "500")


def created(flags: str, rest: str, adds: tuple[str, ...] = CREATE_ADDS) -> tuple[str, ...]:
    """`service create FLAGS <our flags> IMAGE ARGS`; the read-only file system is always added."""
    return (
        *("docker", "service", "create", *shlex.split(flags)),
        *(*adds, *READ_ONLY, *shlex.split(rest)),
    )


SEED = [
    (
        "docker service create --name vote -p 8080:80 instavote/vote",
        created("--name vote -p 8080:80", "instavote/vote"),
    ),
    ("docker service ls", ("docker", "service", "ls")),
    ("docker service tasks vote", ("docker", "service", "ps", "vote")),
    ("docker service scale vote=6", ("docker", "service", "scale", "vote=6", "--detach")),
    (
        "docker service update vote --image instavote/vote:movies",
        ("docker", "service", "update", "vote", "--image", "instavote/vote:movies", "--detach"),
    ),
    (
        "docker service update vote --image instavote/vote:indent --update-parallelism 2 "
        "--update-delay 10s",
        (
            *("docker", "service", "update", "vote", "--image", "instavote/vote:indent"),
            *("--update-parallelism", "2", "--update-delay", "10s", "--detach"),
        ),
    ),
]

_C = "docker service create"
_U = "docker service update"

ALLOWED: list[tuple[str, tuple[str, ...]]] = [
    *SEED,
    # service create
    (f"{_C} --name web busybox httpd -f", created("--name web", "busybox httpd -f")),
    (
        f"{_C} --name=web --replicas=3 instavote/vote",
        created("--name=web --replicas=3", "instavote/vote"),
    ),
    (
        f"{_C} --name vote --replicas 2 -p 8080:80 instavote/vote:movies",
        created("--name vote --replicas 2 -p 8080:80", "instavote/vote:movies"),
    ),
    (f"{_C} -d --name web nginx", created("-d --name web", "nginx", (*LABELS, *LIMITS))),
    (
        f"{_C} --detach=true --name web nginx",
        created("--detach=true --name web", "nginx", (*LABELS, *LIMITS)),
    ),
    (
        f"{_C} -dq -p8080:80 --name web nginx",
        created("-dq -p8080:80 --name web", "nginx", (*LABELS, *LIMITS)),
    ),
    (
        f"{_C} --name web -e GREETING=hello -e 'MOTTO=hello world' nginx",
        created("--name web -e GREETING=hello -e 'MOTTO=hello world'", "nginx"),
    ),
    (f"{_C} --name web -e=MODE=fast nginx", created("--name web -e=MODE=fast", "nginx")),
    (
        f"{_C} --name web -e PORT=8080 -e 'NODE={{{{.Node.Hostname}}}}' nginx",
        created("--name web -e PORT=8080 -e 'NODE={{.Node.Hostname}}'", "nginx"),
    ),
    (
        f"{_C} --name web -l tier=front --container-label app=vote nginx",
        created("--name web -l tier=front --container-label app=vote", "nginx"),
    ),
    (
        f"{_C} --name web --constraint node.role==manager nginx",
        created("--name web --constraint node.role==manager", "nginx"),
    ),
    (
        f"{_C} --name web --constraint 'node.labels.zone != b' nginx",
        created("--name web --constraint 'node.labels.zone != b'", "nginx"),
    ),
    (
        f"{_C} --name web --restart-condition on-failure --restart-delay 5s "
        "--restart-max-attempts 3 nginx",
        created(
            "--name web --restart-condition on-failure --restart-delay 5s --restart-max-attempts 3",
            "nginx",
        ),
    ),
    (
        f"{_C} --name web --update-parallelism 2 --update-delay 10s "
        "--update-failure-action rollback --update-order start-first --update-monitor 5s nginx",
        created(
            "--name web --update-parallelism 2 --update-delay 10s "
            "--update-failure-action rollback --update-order start-first --update-monitor 5s",
            "nginx",
        ),
    ),
    (
        f"{_C} --name web --rollback-parallelism 1 --rollback-delay 1m nginx",
        created("--name web --rollback-parallelism 1 --rollback-delay 1m", "nginx"),
    ),
    (
        f"{_C} --name web --update-delay 500ms --update-max-failure-ratio 0.2 nginx",
        created("--name web --update-delay 500ms --update-max-failure-ratio 0.2", "nginx"),
    ),
    (
        f"{_C} --name web --limit-memory 32M --limit-cpu 0.1 nginx",
        created(
            "--name web --limit-memory 32M --limit-cpu 0.1",
            "nginx",
            ("--detach", *LABELS, "--limit-pids", "128"),
        ),
    ),
    (
        f"{_C} --name web --limit-memory 64M nginx",
        created(
            "--name web --limit-memory 64M",
            "nginx",
            ("--detach", *LABELS, "--limit-cpu", "0.25", "--limit-pids", "128"),
        ),
    ),
    (
        f"{_C} --name web --limit-pids 16 nginx",
        created(
            "--name web --limit-pids 16",
            "nginx",
            ("--detach", *LABELS, "--limit-memory", "64M", "--limit-cpu", "0.25"),
        ),
    ),
    (f"{_U} vote --limit-pids 32", detached(f"{_U} vote --limit-pids 32")),
    (
        f"{_C} --name web --reserve-memory 16M --reserve-cpu 0.1 nginx",
        created("--name web --reserve-memory 16M --reserve-cpu 0.1", "nginx"),
    ),
    (
        f"{_C} --name web -p published=8080,target=80 nginx",
        created("--name web -p published=8080,target=80", "nginx"),
    ),
    (f"{_C} --name dns -p 53/udp nginx", created("--name dns -p 53/udp", "nginx")),
    (
        f"{_C} --name web --publish mode=ingress,target=80 nginx",
        created("--name web --publish mode=ingress,target=80", "nginx"),
    ),
    (f"{_C} --name web --network appnet nginx", created("--name web --network appnet", "nginx")),
    (
        f"{_C} --name web --hostname 'web-{{{{.Task.Slot}}}}' nginx",
        created("--name web --hostname 'web-{{.Task.Slot}}'", "nginx"),
    ),
    (f"{_C} --name web -w /app nginx", created("--name web -w /app", "nginx")),
    (f"{_C} --name web -u nobody nginx", created("--name web -u nobody", "nginx")),
    (f"{_C} --name web --user 1000:1000 nginx", created("--name web --user 1000:1000", "nginx")),
    (f"{_C} --name web --cap-drop ALL nginx", created("--name web --cap-drop ALL", "nginx")),
    (
        f"{_C} --name web --health-cmd 'wget -q -O- localhost' --health-interval 5s "
        "--health-retries 3 nginx",
        created(
            "--name web --health-cmd 'wget -q -O- localhost' --health-interval 5s "
            "--health-retries 3",
            "nginx",
        ),
    ),
    (
        f"{_C} --name web --init --read-only -t nginx",
        created("--name web --init --read-only -t", "nginx"),
    ),
    (f"{_C} --name web --mode replicated nginx", created("--name web --mode replicated", "nginx")),
    (
        f"{_C} --name web --replicas-max-per-node 2 nginx",
        created("--name web --replicas-max-per-node 2", "nginx"),
    ),
    (f"{_C} nginx", created("", "nginx")),
    (
        f"{_C} --name web docker.io/library/nginx:1.25",
        created("--name web", "docker.io/library/nginx:1.25"),
    ),
    (f"{_C} --name web busybox@{DIGEST}", created("--name web", f"busybox@{DIGEST}")),
    (f"{_C} --name web -- nginx", created("--name web", "-- nginx")),
    (
        f"{_C} --name web busybox sh -c 'echo hi; sleep 1000'",
        created("--name web", "busybox sh -c 'echo hi; sleep 1000'"),
    ),
    (
        f"{_C} --name web nginx --name not-a-flag-any-more",
        created("--name web", "nginx --name not-a-flag-any-more"),
    ),
    (
        f"{_C} --name web --stop-grace-period 5s --stop-signal SIGTERM nginx",
        created("--name web --stop-grace-period 5s --stop-signal SIGTERM", "nginx"),
    ),
    (
        f"{_C} --name web --placement-pref spread=node.labels.zone nginx",
        created("--name web --placement-pref spread=node.labels.zone", "nginx"),
    ),
    (
        f"{_C} --name web --endpoint-mode dnsrr nginx",
        created("--name web --endpoint-mode dnsrr", "nginx"),
    ),
    (
        f"{_C} --name web --no-resolve-image nginx",
        created("--name web --no-resolve-image", "nginx"),
    ),
    # service update
    (
        f"{_U} --image instavote/vote:movies vote",
        detached(f"{_U} --image instavote/vote:movies vote"),
    ),
    (f"{_U} vote --replicas 4", detached(f"{_U} vote --replicas 4")),
    (f"{_U} --force vote", detached(f"{_U} --force vote")),
    (f"{_U} --rollback vote", detached(f"{_U} --rollback vote")),
    (f"{_U} -d vote --image nginx:alpine", same(f"{_U} -d vote --image nginx:alpine")),
    (
        f"{_U} vote --env-add MODE=fast --env-rm OLD",
        detached(f"{_U} vote --env-add MODE=fast --env-rm OLD"),
    ),
    (
        f"{_U} vote --label-add tier=front --label-rm old",
        detached(f"{_U} vote --label-add tier=front --label-rm old"),
    ),
    (
        f"{_U} vote --publish-add 8081:80 --publish-rm 8080",
        detached(f"{_U} vote --publish-add 8081:80 --publish-rm 8080"),
    ),
    (
        f"{_U} vote --constraint-add node.role==worker",
        detached(f"{_U} vote --constraint-add node.role==worker"),
    ),
    (f"{_U} vote --limit-memory 48M", detached(f"{_U} vote --limit-memory 48M")),
    (f"{_U} vote --args 'httpd -f -p 80'", detached(f"{_U} vote --args 'httpd -f -p 80'")),
    (
        f"{_U} vote --update-delay=1m --update-parallelism=0",
        detached(f"{_U} vote --update-delay=1m --update-parallelism=0"),
    ),
    (f"{_U} vote --network-add appnet", detached(f"{_U} vote --network-add appnet")),
    (f"{_U} --quiet -- vote", ("docker", "service", "update", "--quiet", "--detach", "--", "vote")),
    # service scale / rollback / rm
    ("docker service scale vote=3 redis=2", detached("docker service scale vote=3 redis=2")),
    ("docker service scale -d vote=0", same("docker service scale -d vote=0")),
    ("docker service scale vote=10", detached("docker service scale vote=10")),
    ("docker service rollback vote", detached("docker service rollback vote")),
    ("docker service rollback -q vote", detached("docker service rollback -q vote")),
    ("docker service rm vote", same("docker service rm vote")),
    ("docker service rm vote redis", same("docker service rm vote redis")),
    ("docker service remove vote", same("docker service remove vote")),
    # service ls / ps / inspect / logs
    ("docker service list", same("docker service list")),
    ("docker service ls -q", same("docker service ls -q")),
    ("docker service ls --filter name=vote", same("docker service ls --filter name=vote")),
    (
        "docker service ls -f label=tier=front --format '{{.Name}}: {{.Replicas}}'",
        same("docker service ls -f label=tier=front --format '{{.Name}}: {{.Replicas}}'"),
    ),
    ('docker service ls --format "{{json .}}"', same('docker service ls --format "{{json .}}"')),
    ("docker service ls --format=table", same("docker service ls --format=table")),
    ("docker service ps vote", same("docker service ps vote")),
    ("docker service ps vote redis --no-trunc", same("docker service ps vote redis --no-trunc")),
    (
        "docker service ps -f desired-state=running vote",
        same("docker service ps -f desired-state=running vote"),
    ),
    (
        "docker service ps --format '{{.Name}} {{.Node}} {{.CurrentState}}' vote",
        same("docker service ps --format '{{.Name}} {{.Node}} {{.CurrentState}}' vote"),
    ),
    ("docker service tasks -q vote", ("docker", "service", "ps", "-q", "vote")),
    ("docker service inspect vote", same("docker service inspect vote")),
    ("docker service inspect --pretty vote", same("docker service inspect --pretty vote")),
    (
        "docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' vote",
        same("docker service inspect -f '{{.Spec.Mode.Replicated.Replicas}}' vote"),
    ),
    (
        "docker service inspect --format='{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' vote",
        same(
            "docker service inspect --format='{{range $k, $v := .Spec.Labels}}{{$k}} {{end}}' vote"
        ),
    ),
    ("docker service logs vote", tailed("docker service logs vote")),
    ("docker service logs --tail 20 vote", same("docker service logs --tail 20 vote")),
    ("docker service logs -n 20 -t vote", same("docker service logs -n 20 -t vote")),
    (
        "docker service logs --since 10m --timestamps vote",
        tailed("docker service logs --since 10m --timestamps vote"),
    ),
    ("docker service logs vote.1", tailed("docker service logs vote.1")),
    # node
    ("docker node ls", same("docker node ls")),
    ("docker node list", same("docker node list")),
    (
        "docker node ls --format '{{.Hostname}} {{.Status}}'",
        same("docker node ls --format '{{.Hostname}} {{.Status}}'"),
    ),
    ("docker node ps", same("docker node ps")),
    ("docker node ps self", same("docker node ps self")),
    ("docker node tasks self", ("docker", "node", "ps", "self")),
    ("docker node inspect self --pretty", same("docker node inspect self --pretty")),
    (
        "docker node update --availability drain worker1",
        same("docker node update --availability drain worker1"),
    ),
    (
        "docker node update --availability=active worker1",
        same("docker node update --availability=active worker1"),
    ),
    # how the line is written
    ("  docker service ls  ", ("docker", "service", "ls")),
    ("docker service ls # list the services", ("docker", "service", "ls")),
    ("docker service ls\n", ("docker", "service", "ls")),
    ("docker   service\tls", ("docker", "service", "ls")),
    ("docker service ps 'vote'", ("docker", "service", "ps", "vote")),
]

_LONG_FORMAT = "{{.Name}}" * 25
_MANY = " ".join(f"s{i}" for i in range(21))

REFUSED: list[tuple[str, str, str]] = [
    # the line as text
    ("", "empty", "nothing to run"),
    ("   ", "empty", "nothing to run"),
    ("# just a comment", "empty", "only a comment"),
    ("docker service ls; docker node ls", "separator", "`;`"),
    ("docker service ls | grep vote", "pipe", "Pipes"),
    ("docker service ls && docker node ls", "and-or", "`&&`"),
    ("docker service ls || true", "and-or", "`||`"),
    ("docker service ls &", "background", "background"),
    ("docker service ls > out.txt", "redirect", "Redirections (`>`)"),
    ("docker service ls < in.txt", "redirect", "Redirections (`<`)"),
    ("docker service ls 2>&1", "redirect", "Redirections"),
    ("docker service ps `cat name`", "substitution", "Command substitution"),
    ("docker service ps $(whoami)", "substitution", "Command substitution"),
    ("docker service ps ${NAME}", "variable", "Shell variables"),
    ("docker service ps $NAME", "variable", "`$N…`"),
    ('docker service ps "$NAME"', "variable", "Shell variables"),
    ("docker service ls\ndocker node ls", "newline", "single line"),
    ("docker service ls\rdocker node ls", "newline", "line break"),
    ("docker service ls\x00", "control-char", "U+0000"),
    ("docker service\u202els", "control-char", "U+202E"),
    ("docker service ls\u200b", "control-char", "U+200B"),
    ("docker service ls \u2014filter name=x", "typography", "`—filter` holds a typographic"),
    ("docker service update --update\u2013delay 5s vote", "typography", "as in `--update-delay`"),
    ("docker service update -\u2013replicas 2 vote", "typography", "`-–replicas` holds"),
    (
        "docker service ls \u2011q",
        "typography",
        "(U+2011), perhaps pasted from a web page: type options with hyphens, as in `-q`.",
    ),
    (f"{_C} \u2212\u2212privileged busybox", "typography", "as in `--privileged`"),
    ("docker service ls \u2013\u2013quiet", "typography", "(U+2013)"),
    ("docker service ls \uff0d\uff0dquiet", "typography", "(U+FF0D)"),
    ("docker\u00a0service ls", "typography", "special space (U+00A0)"),
    ("docker service ls\u3000-q", "typography", "special space (U+3000)"),
    ("docker service ps 'vote", "unbalanced-quotes", "unclosed quote"),
    ('docker service ps "vote', "unbalanced-quotes", "unclosed quote"),
    ("docker service ls \\", "unbalanced-quotes", "trailing backslash"),
    ("docker service ps (vote)", "subshell", "Parentheses"),
    (f"{_C} --name web busybox echo ';'", "separator", "exactly one docker command"),
    ("docker service ps vote '|' grep", "pipe", "Pipes"),
    ("docker service ls " + "x" * 2000, "too-long", "longer than 2000"),
    ("docker " + "ls " * 100, "too-long", "more than 80 words"),
    # not docker
    ("sudo docker service ls", "not-docker", "no `sudo`"),
    ("$ docker service ls", "not-docker", "prompt"),
    ("/usr/bin/docker service ls", "not-docker", "plain `docker`"),
    ("kubectl get pods", "not-docker", "starts with `kubectl`"),
    ("docker-compose up", "not-docker", "`docker-compose`"),
    ("rm -rf /", "not-docker", "starts with `rm`"),
    ("DOCKER_HOST=tcp://evil:2375 docker service ls", "not-docker", "DOCKER_HOST"),
    ('"" service ls', "not-docker", "Only `docker`"),
    # top-level options
    ("docker", "missing-command", "`docker` alone"),
    ("docker -H tcp://10.0.0.1:2375 service ls", "top-level-option", "`-H` is not allowed"),
    ("docker --host=unix:///var/run/docker.sock service ls", "top-level-option", "`--host`"),
    ("docker --context prod service ls", "top-level-option", "another context"),
    ("docker -c prod service ls", "top-level-option", "`-c` is not allowed"),
    ("docker --config /tmp/x service ls", "top-level-option", "top-level `--config`"),
    ("docker --tlsverify service ls", "top-level-option", "TLS options"),
    ("docker --tlscacert=ca.pem service ls", "top-level-option", "`--tlscacert`"),
    ("docker -D service ls", "top-level-option", "Debug mode"),
    ("docker --log-level debug service ls", "top-level-option", "log level"),
    ("docker --version", "top-level-option", "Top-level docker options"),
    # subcommands
    ("docker run -it busybox sh", "unknown-subcommand", "`docker run` is not allowed here; only"),
    ("docker exec -it web sh", "unknown-subcommand", "`docker exec` is not allowed"),
    ("docker swarm leave --force", "unknown-subcommand", "`docker swarm leave` is not allowed"),
    ("docker swarm init", "unknown-subcommand", "`docker swarm init`"),
    ("docker system prune -af", "unknown-subcommand", "`docker system prune`"),
    ("docker secret create pw -", "unknown-subcommand", "`docker secret create`"),
    ("docker stack deploy -c app.yml app", "unknown-subcommand", "`docker stack deploy`"),
    ("docker node rm worker1", "unknown-subcommand", "`docker node rm` is not allowed"),
    ("docker node promote worker1", "unknown-subcommand", "`docker node promote`"),
    ("docker node demote worker1", "unknown-subcommand", "`docker node demote`"),
    ("docker network create --driver overlay net", "unknown-subcommand", "`docker network create`"),
    ("docker volume create data", "unknown-subcommand", "`docker volume create`"),
    ("docker container run busybox", "unknown-subcommand", "`docker container run`"),
    ("docker ps", "unknown-subcommand", "`docker ps`"),
    ("docker images", "unknown-subcommand", "docker node ls|ps|inspect|update --availability"),
    ("docker service frobnicate", "unknown-subcommand", "`docker service frobnicate`"),
    ("docker service", "missing-subcommand", "`docker service` needs a subcommand"),
    ("docker node", "missing-subcommand", "`docker node` needs a subcommand"),
    ("docker service --help", "unknown-flag", "no options before its subcommand"),
    # mounts
    (f"{_C} --mount type=bind,source=/,target=/host busybox", "bind-mount", "(--mount type=bind)"),
    (
        f"{_C} --mount=type=bind,src=/etc,dst=/h busybox",
        "bind-mount",
        "Bind mounts are not allowed",
    ),
    (
        f"{_C} --mount type=volume,source=v,target=/d,volume-driver=local,"
        "volume-opt=device=/dev/sda busybox",
        "volume-driver",
        "Volume drivers",
    ),
    (f"{_C} --mount type=volume,source=v,target=/data busybox", "mount", "Mounts are not allowed"),
    (f"{_C} --mount type=tmpfs,target=/tmp busybox", "mount", "Mounts are not allowed"),
    (f"{_C} -v /:/host busybox", "mount", "`-v`/`--volume`"),
    (f"{_U} --mount-add type=bind,src=/,dst=/h vote", "bind-mount", "host's files"),
    (f"{_U} --mount-rm /data vote", "mount", "none to remove"),
    # privileges and the host
    (f"{_C} --cap-add SYS_ADMIN busybox", "cap-add", "(--cap-add)"),
    (f"{_C} --cap-add=ALL busybox", "cap-add", "Adding Linux capabilities"),
    (f"{_C} --network host busybox", "host-network", "Host networking is not allowed"),
    (f"{_C} --network=host busybox", "host-network", "(--network host)"),
    (f"{_U} --network-add host vote", "host-network", "Host networking"),
    (f"{_C} -p mode=host,published=80,target=80 busybox", "host-port", "Host-mode ports"),
    (f"{_C} --publish published=8080,target=80,mode=host busybox", "host-port", "(--publish"),
    (f"{_C} --secret db_password busybox", "secret", "Secrets are not allowed"),
    (f"{_U} --secret-add pw vote", "secret", "(--secret-add)"),
    (f"{_C} --config app_conf busybox", "config", "Swarm configs"),
    (f"{_C} --env-file .env busybox", "env-file", "`--env-file` is not allowed"),
    (f"{_C} -e HOME busybox", "env-from-host", "`-e HOME` without `=value`"),
    (f"{_U} --env-add SECRET_KEY vote", "env-from-host", "runner's own environment"),
    (f"{_C} --with-registry-auth busybox", "registry-auth", "registry credentials"),
    (f"{_C} --mode global busybox", "mode", "Global services are not allowed"),
    (f"{_C} --mode=replicated-job busybox", "mode", "Jobs are not allowed"),
    (f"{_C} --user root busybox", "root-user", "Asking for root is not allowed"),
    (f"{_C} -u 0 busybox", "root-user", "(-u `0`)"),
    (f"{_C} --user 0:0 busybox", "root-user", "Asking for root is not allowed"),
    (f"{_C} --user 1000:root busybox", "root-user", "Asking for root is not allowed"),
    (f"{_C} --sysctl net.ipv4.ip_forward=1 busybox", "sysctl", "Kernel parameters"),
    (f"{_C} --ulimit nofile=1024 busybox", "ulimit", "ulimits"),
    (f"{_C} --log-driver syslog busybox", "log-driver", "Logging drivers"),
    (f"{_C} --log-opt max-size=1m busybox", "log-driver", "(--log-opt)"),
    (f"{_C} --privileged busybox", "privileged", "Privileged containers"),
    (f"{_C} --credential-spec file://spec.json busybox", "credential-spec", "Credential specs"),
    (f"{_C} --generic-resource gpu=1 busybox", "generic-resource", "Generic resources"),
    (f"{_C} --dns 8.8.8.8 busybox", "dns", "Custom DNS"),
    (f"{_C} --dns-search example.com busybox", "dns", "(--dns-search)"),
    (f"{_C} --host db:10.0.0.5 busybox", "add-host", "host-to-IP mappings"),
    (f"{_C} --isolation hyperv busybox", "isolation", "Isolation modes"),
    (f"{_C} --group docker busybox", "group", "Supplementary groups"),
    (f"{_C} --entrypoint sh busybox", "entrypoint", "Replacing the entrypoint"),
    (f"{_C} --env FOO=bar --entrypoint=/bin/sh busybox", "entrypoint", "(--entrypoint)"),
    (f"{_C} --oom-score-adj -1000 busybox", "oom-score", "OOM score"),
    # unknown flags
    (f"{_C} --foo busybox", "unknown-flag", "`--foo` is not an option"),
    (f"{_C} -x busybox", "unknown-flag", "`-x` is not an option"),
    (f"{_U} --name other vote", "unknown-flag", "`docker service update`"),
    (f"{_C} --publish-add 80 busybox", "unknown-flag", "`--publish-add`"),
    (f"{_U} ---image nginx vote", "unknown-flag", "`---image`"),
    ("docker service rm -f vote", "unknown-flag", "`-f` is not an option"),
    # our own labels
    (f"{_C} --label confnotes.owner=mallory busybox", "reserved-label", "`confnotes.`"),
    (f"{_U} --label-rm confnotes.owner vote", "reserved-label", "set by the sandbox itself"),
    (f"{_U} --container-label-add confnotes.owner=x vote", "reserved-label", "`confnotes.`"),
    # sizes and bounds
    (f"{_C} --replicas 11 busybox", "replicas-too-many", "at most 10 replicas"),
    (f"{_C} --replicas=1000 busybox", "replicas-too-many", "(--replicas 1000)"),
    (f"{_U} --replicas 50 vote", "replicas-too-many", "at most 10 replicas"),
    ("docker service scale vote=11", "replicas-too-many", "(`vote=11`)"),
    ("docker service scale a=6 b=6", "replicas-too-many", "12 replicas in all"),
    (f"{_C} --replicas 0x10 busybox", "bad-value", "a whole number"),
    (f"{_C} --replicas 010 busybox", "bad-value", "a whole number"),
    (f"{_C} --replicas -1 busybox", "bad-value", "(got `-1`)"),
    (f"{_C} --update-parallelism 50 busybox", "number-too-large", "at most 10"),
    (f"{_U} --update-delay 90s vote", "duration-too-long", "at most 60s"),
    (f"{_U} --update-delay 1m30s vote", "duration-too-long", "(got 1m30s)"),
    (f"{_C} --rollback-delay 2m busybox", "duration-too-long", "`--rollback-delay`"),
    (f"{_C} --update-delay ten busybox", "bad-value", "a duration"),
    (f"{_C} --health-interval 10ms busybox", "duration-too-short", "at least 1s"),
    (f"{_C} --stop-grace-period 1m busybox", "duration-too-long", "at most 10s"),
    (f"{_C} --limit-memory 1G busybox", "resource-limit", "at most 64M"),
    (f"{_C} --limit-memory 0 busybox", "resource-limit", "remove the limit"),
    (f"{_C} --limit-cpu 2 busybox", "resource-limit", "at most 0.25"),
    (f"{_C} --reserve-memory 128M busybox", "resource-limit", "`--reserve-memory`"),
    (f"{_U} --limit-cpu 0 vote", "resource-limit", "remove the limit"),
    (f"{_C} --limit-memory lots busybox", "bad-value", "a size"),
    (f"{_C} --limit-pids 0 busybox", "resource-limit", "at most 128 processes"),
    (f"{_U} --limit-pids 100000 vote", "resource-limit", "at most 128 in the sandbox"),
    (f"{_C} --limit-pids many busybox", "bad-value", "a whole number"),
    # logs
    ("docker service logs -f vote", "follow", "never ends"),
    ("docker service logs --follow vote", "follow", "`docker service logs --follow`"),
    ("docker service logs --tail 1000 vote", "tail-too-long", "at most 500 log lines"),
    ("docker service logs --tail all vote", "tail-too-long", "(--tail all)"),
    ("docker service logs -n=600 vote", "tail-too-long", "at most 500"),
    ("docker service logs --since yesterday vote", "bad-value", "a time"),
    ("docker service logs vote redis", "extra-argument", "one too many"),
    ("docker service logs", "missing-argument", "one service or task"),
    # names and images
    (f"{_C} --name 'web site' busybox", "bad-name", "not a valid name for `--name`"),
    (f"{_C} --name -web busybox", "bad-name", "`-web`"),
    (f"{_C} --name web ../etc/passwd", "bad-image", "not an image reference"),
    (f"{_C} --name web Nginx", "bad-image", "`Nginx`"),
    (f"{_C} --name web evil.example.com:5000/app", "image-registry", "Docker Hub"),
    (f"{_C} --name web localhost/app", "image-registry", "`localhost`"),
    (f"{_U} --image 169.254.169.254/x vote", "image-registry", "another registry"),
    ("docker service ps ''", "bad-name", "not a valid service"),
    ("docker node inspect 'bad node'", "bad-name", "not a valid node"),
    # arguments
    (f"{_C} --name web", "missing-argument", "needs an image"),
    (f"{_C} --name", "missing-value", "`--name` needs a value"),
    (f"{_C} -p", "missing-value", "`-p` needs a value"),
    (f"{_U} --image nginx", "missing-argument", "needs the name of one service"),
    (f"{_U} vote redis --force", "extra-argument", "`redis` is one too many"),
    ("docker service rollback", "missing-argument", "`docker service rollback` needs"),
    ("docker service scale vote", "bad-value", "`SERVICE=REPLICAS`"),
    ("docker service scale vote=lots", "bad-value", "`SERVICE=REPLICAS`"),
    ("docker service scale", "missing-argument", "`SERVICE=REPLICAS`"),
    ("docker service rm", "missing-argument", "at least one service"),
    ("docker service ls vote", "extra-argument", "takes no arguments"),
    ("docker node ls worker1", "extra-argument", "takes no arguments"),
    (f"docker service ps {_MANY}", "too-many-arguments", "at most 20"),
    (f"{_C} busybox {_MANY}", "too-many-arguments", "at most 20 words"),
    # formats and filters
    (f"docker service ps --format '{_LONG_FORMAT}' vote", "format-too-long", "at most 200"),
    (
        'docker service ls --format \'{{define "a"}}{{template "a"}}{{end}}\'',
        "go-template",
        "loop without end",
    ),
    (
        f'{_C} -e \'X={{{{define "a"}}}}{{{{template "a" .}}}}{{{{end}}}}\' busybox',
        "go-template",
        "`define`",
    ),
    ("docker service ls --format '{{pad .Name 1000000000 0}}'", "go-template", "`1000000000`"),
    ("docker service ls --format '{{printf \"%.99999f\" 1.5}}'", "go-template", "at most 3 digits"),
    ("docker service ls --format '{{pad .Name 1e9 0}}'", "go-template", "`1e9`"),
    (f"{_C} --hostname '{{{{pad .Node.ID 9999 0}}}}' busybox", "go-template", "`9999`"),
    ("docker service ps -f 'name=vote;x' vote", "bad-value", "a filter"),
    ("docker service inspect --format '{{json .}}' vote | jq", "pipe", "Pipes"),
    (f'{_C} --name web -e "PASS=$SECRET" nginx', "variable", "`$S…`"),
    # detaching and switches
    (f"{_C} --detach=false busybox", "no-detach", "never waits"),
    (f"{_U} -d=false vote", "no-detach", "`-d=false`"),
    (f"{_U} --force=maybe vote", "bad-value", "is a switch"),
    ("docker service ls --quiet=yes", "bad-value", "is a switch"),
    # node update
    ("docker node update --role manager worker1", "node-update-flag", "availability"),
    ("docker node update --label-add a=b worker1", "node-update-flag", "(--label-add)"),
    ("docker node update --availability pause worker1", "bad-value", "`drain` or `active`"),
    ("docker node update worker1", "missing-flag", "--availability drain|active NODE"),
    ("docker node update --availability drain", "missing-argument", "one node"),
    ("docker node inspect", "missing-argument", "at least one node"),
    # other values
    (f"{_C} -p 127.0.0.1:8080:80 busybox", "bad-value", "`8080:80`"),
    (f"{_C} -p 70000:80 busybox", "bad-value", "ports from 1 to 65535"),
    (f"{_C} -p 'published=80,target=80,mode=\"host\"' busybox", "bad-value", "`-p`"),
    (f"{_C} --restart-condition always busybox", "bad-value", "one of `none`"),
    (f"{_C} --workdir relative busybox", "bad-value", "an absolute path"),
    (f"{_C} --hostname 'a;b' busybox", "bad-value", "a hostname"),
    (f"{_C} --constraint node.role=manager busybox", "bad-value", "a constraint"),
    (f"{_C} --network 'name=appnet,alias=x' busybox", "bad-value", "overlay network"),
    (f"{_U} vote --health-cmd '{'x' * 201}'", "too-long", "at most 200 characters"),
]


def test_it_has_a_table_of_at_least_150_lines():
    assert len(ALLOWED) + len(REFUSED) >= 150
    lines = [line for line, *_ in ALLOWED + REFUSED]
    assert len(lines) == len(set(lines)), "a line is listed twice"


@pytest.mark.parametrize(("line", "argv"), ALLOWED)
def test_it_allows(line: str, argv: tuple[str, ...]):
    decision = check_command(line, owner=OWNER)
    assert decision.allowed, decision.reason
    assert decision.argv == argv
    assert decision.reason == decision.code == ""
    assert decision.line == line


def test_a_dash_in_quoted_text_is_the_visitors_own():
    """Only words outside quotes are read as options: `--env "MSG=a — b"` was refused."""
    decision = check_command(f'{_C} --env "MSG=a \u2014 b" busybox', owner=OWNER)
    assert decision.code != "typography", decision.reason


@pytest.mark.parametrize(("line", "code", "fragment"), REFUSED)
def test_it_refuses(line: str, code: str, fragment: str):
    decision = check_command(line, owner=OWNER)
    assert not decision.allowed
    assert decision.argv == ()
    assert decision.code == code, decision.reason
    assert fragment in decision.reason
    assert decision.reason.endswith(".")
    assert decision.note == ""
    assert decision.line == line


def test_it_describes_the_seed_lines():
    create, ls, tasks, scale, update, rolling = (
        check_command(line, owner=OWNER) for line, _ in SEED
    )
    assert (create.subcommand, create.creates_service) == ("service create", True)
    assert (create.service_name, create.replicas) == ("vote", 1)
    assert create.replica_targets == (("vote", 1),)
    assert (ls.subcommand, ls.service_name, ls.note) == ("service ls", None, "")
    assert (tasks.subcommand, tasks.service_name) == ("service ps", "vote")
    assert (scale.subcommand, scale.service_name, scale.replicas) == ("service scale", "vote", 6)
    assert scale.replica_targets == (("vote", 6),)
    assert (update.subcommand, update.service_name, update.replicas) == (
        "service update",
        "vote",
        None,
    )
    assert not update.creates_service
    assert rolling.services == ("vote",)


def test_it_explains_the_legacy_tasks_command():
    decision = check_command("docker service tasks vote", owner=OWNER)
    assert decision.note == (
        "`docker service tasks` is the Docker 1.12 release-candidate name of "
        "`docker service ps`; it runs as `docker service ps vote`."
    )
    node = check_command("docker node tasks self", owner=OWNER)
    assert node.note.startswith("`docker node tasks` is the Docker 1.12")


def test_it_notes_what_it_added():
    create = check_command("docker service create --name web nginx", owner=OWNER)
    assert create.note == (
        "Added `--detach`, the owner labels, the sandbox's resource limits "
        "(`--limit-memory 64M`, `--limit-cpu 0.25`, `--limit-pids 128`) and a read-only file "
        "system with 16M of scratch space in `/tmp` "
        "(`--read-only --mount type=tmpfs,destination=/tmp,tmpfs-size=16M`)."
    )
    scale = check_command("docker service scale vote=2", owner=OWNER)
    assert scale.note.startswith("Added `--detach` so the command returns at once")
    logs = check_command("docker service logs vote", owner=OWNER)
    assert logs.note == "Added `--tail 500`: the sandbox shows at most the last 500 lines."
    comment = check_command("docker service ls  # all of them", owner=OWNER)
    assert comment.note == "Ignored the shell comment at the end of the line."
    assert check_command("docker service scale -d vote=2", owner=OWNER).note == ""


def test_it_keeps_aliases_and_names_them_canonically():
    decision = check_command("docker service list", owner=OWNER)
    assert decision.argv == ("docker", "service", "list")
    assert decision.subcommand == "service ls"
    assert check_command("docker service remove vote", owner=OWNER).subcommand == "service rm"


def test_it_reports_every_target_for_quotas():
    scale = check_command("docker service scale vote=3 redis=2", owner=OWNER)
    assert (scale.service_name, scale.replicas) == (None, 5)
    assert scale.replica_targets == (("vote", 3), ("redis", 2))
    assert scale.services == ("vote", "redis")
    rm = check_command("docker service rm vote redis", owner=OWNER)
    assert (rm.service_name, rm.services) == (None, ("vote", "redis"))
    update = check_command("docker service update vote --replicas 4", owner=OWNER)
    assert (update.replicas, update.replica_targets) == (4, (("vote", 4),))
    unnamed = check_command("docker service create nginx", owner=OWNER)
    assert (unnamed.service_name, unnamed.replicas, unnamed.replica_targets) == (None, 1, ())


def test_it_keeps_the_subcommand_of_a_refused_line():
    decision = check_command(
        "docker service create --mount type=bind,src=/,dst=/h busybox", owner=OWNER
    )
    assert (decision.subcommand, decision.creates_service) == ("service create", True)
    assert check_command("docker run busybox", owner=OWNER).subcommand == ""


def test_it_applies_custom_limits():
    limits = PolicyLimits(
        max_replicas=3,
        max_update_delay_seconds=5,
        max_log_tail=50,
        memory_limit="128M",
        cpu_limit="0.5",
        pids_limit=64,
        image_registries=("docker.io", "registry.local:5000"),
    )

    def check(line: str) -> Decision:
        return check_command(line, owner="bob", limits=limits)

    assert check("docker service scale vote=3").allowed
    assert check("docker service scale vote=4").code == "replicas-too-many"
    assert check("docker service update vote --update-delay 6s").code == "duration-too-long"
    assert check("docker service logs --tail 51 vote").code == "tail-too-long"
    assert check("docker service logs vote").argv[-2:] == ("--tail", "50")
    created = check("docker service create --limit-memory 100M registry.local:5000/app")
    assert created.argv == (
        *("docker", "service", "create", "--limit-memory", "100M", "--detach"),
        *("--label", "confnotes.owner=bob", "--container-label", "confnotes.owner=bob"),
        *("--limit-cpu", "0.5", "--limit-pids", "64", *READ_ONLY, "registry.local:5000/app"),
    )


@pytest.mark.parametrize("owner", ["", "a b", "x;y", "-leading", "o" * 65])
def test_it_rejects_an_invalid_owner(owner: str):
    with pytest.raises(ValueError):
        check_command("docker service ls", owner=owner)


# --- properties ----------------------------------------------------------------------------------

_SHELL_TOKEN = re.compile(r"[;|&<>()]+")
_WORDS = [
    *("service", "node", "create", "ls", "ps", "update", "scale", "rm", "logs", "inspect"),
    *("rollback", "tasks", "list", "remove", "--name", "vote", "-p", "8080:80", "--replicas"),
    *("3", "99", "--image", "instavote/vote:movies", "nginx", "-d", "--detach", "-q", "vote=3"),
    *("vote=30", "--mount", "type=bind,src=/,dst=/h", "--network", "host", "--limit-memory"),
    *("1G", "32M", "-e", "A=b", "HOME", "--format", "{{.Name}}", "-f", "--tail", "all", "20"),
    *("--update-delay", "10s", "2m", "--", "-", "--label", "confnotes.owner=x", "--availability"),
    *("drain", "self", ";", "|", "&&", "'", '"', "$X", "#", "`id`", "-dq", "-p=80:80", "--force"),
    *("--user", "root", "--cap-add", "ALL", "--cap-drop", "busybox", "httpd", "-H", "tcp://x"),
    *("'|'", '";"', "--detach=false", "-e=A=1", "-l", "a=b", "\\", "(", "--limit-cpu", "1"),
]
_LINES = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(_WORDS), max_size=10).map(lambda ws: " ".join(["docker", *ws])),
)


@settings(max_examples=400, deadline=None, database=None)
@given(_LINES)
def test_it_decides_every_line_without_raising(line: str):
    decision = check_command(line, owner=OWNER)
    assert isinstance(decision, Decision)
    if not decision.allowed:
        assert decision.argv == ()
        assert decision.code and decision.reason.endswith(".")
        return
    assert decision.argv[0] == "docker"
    assert decision.argv[1] in ("service", "node")
    for token in decision.argv:
        assert not _SHELL_TOKEN.fullmatch(token)
        assert "`" not in token and "$(" not in token and "\n" not in token
    assert decision.replicas is None or 0 <= decision.replicas <= PolicyLimits().max_replicas
    if decision.creates_service:
        pairs = set(zip(decision.argv, decision.argv[1:], strict=False))
        assert ("--label", "confnotes.owner=alice") in pairs
        assert ("--container-label", "confnotes.owner=alice") in pairs
        assert any(token.startswith("--limit-memory") for token in decision.argv)
        assert any(token.startswith("--limit-cpu") for token in decision.argv)
