"""The kubelet's lifecycle rules, as data: what commands do, the stages a container goes through, the messages.

Edit this module to change how the lab's containers behave; the kubelet and the simulated runtime only read it.

What a container does (``kubelab.kubelet.programs`` turns command + args into a timed program):

* The command line is ``command + args`` (Kubernetes ``$(VAR)`` references expanded from the container's env).
  ``sh -c SCRIPT`` (also bash/ash/dash) runs SCRIPT: ``;``/newlines, ``&&``, ``||``, ``while true; do ...; done``,
  ``for X in ...; do ...; done``, ``if ...; then ...; fi`` and ``$VAR``/``$(hostname)``/``$(date)`` expansions.
* ``sleep N`` waits N seconds (suffixes s/m/h/d; ``sleep infinity`` never ends); ``exit K`` exits with K;
  ``false`` sets status 1, ``true``/``:`` status 0; a script ends with the status of its last command.
* ``echo``/``printf``/``date``/``hostname``/``printenv``/``env``/``ls``/``seq``/``whoami``/``id``/``uname``/``pwd``
  write output at once (that output is what ``kubectl logs`` shows).
* ``tail -f``, ``sleep infinity``, an endless loop, a server binary (``SERVERS``: nginx, httpd, redis-server, ...)
  or a single command the lab does not know run until stopped; an unknown command inside a longer script does
  nothing and succeeds.
* No command: the image's default (``images.CATALOGUE`` kind): servers (nginx, httpd, redis, postgres, unknown
  images) run until stopped; shell images (busybox, alpine, ubuntu, debian, python) exit 0 at once unless the
  container has ``stdin: true`` (as ``kubectl run -it`` sets). postgres/mysql without their password variable
  print the real entrypoint's complaint and exit 1 (``REQUIRED_ENV``).
* On SIGTERM (pod deletion) servers that handle it exit 0 at once; everything else runs as PID 1, which ignores
  SIGTERM, and is killed (exit 137) when the grace period ends. The lab caps grace periods at
  ``TERMINATION_GRACE_CAP`` seconds (override with ``LabConfig(extra={"termination_grace_cap": s})``).

Readiness and liveness with the simulated runtime: a readinessProbe passes from ``initialDelaySeconds`` after
the container starts (the container is Ready from then on); a startupProbe likewise marks the container started
after its initial delay; liveness probes always pass. With a real runtime (``Runtime.real``) the probes really
run (``kubelab.kubelet.prober``): the messages below are what they report, and ``CONTAINER_KILL_UNHEALTHY`` is
how a container that failed its liveness or startup probe is stopped before its restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubelab.config import LabConfig
from kubelab.kubelet.stages import EventSpec, Failure, Stage

# ------------------------------------------------------------------------------------------------ timings
TERMINATION_GRACE_CAP = 1.0  # seconds: lab cap on terminationGracePeriodSeconds (real: no cap, default 30s)
PULL_BACKOFF_SHOW_FRACTION = 0.5  # re-sync a failed pull at half its back-off, showing ImagePullBackOff


def termination_grace_cap(config: LabConfig) -> float:
    return float(config.extra.get("termination_grace_cap", TERMINATION_GRACE_CAP))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ commands
@dataclass(frozen=True)
class CommandRule:
    """What one simple command does: its output template, its exit status and how long it runs.

    ``output`` placeholders: {args} (the arguments joined by spaces), {printf}, {date}, {env}, {hostname},
    {seq}. ``runs``: "instant", "sleep" (for the duration in its first argument), "exit" (with the code in its
    first argument), "forever", or "follow" (forever when given -f/-F, else instant).
    """

    output: str | None = None
    exit_code: int = 0
    runs: str = "instant"


_LISTING = "bin\ndev\netc\nhome\nlib\nproc\nroot\nsys\ntmp\nusr\nvar"

COMMANDS: dict[str, CommandRule] = {
    "echo": CommandRule(output="{args}"),
    "printf": CommandRule(output="{printf}"),
    "sleep": CommandRule(runs="sleep"),
    "exit": CommandRule(runs="exit"),
    "true": CommandRule(),
    ":": CommandRule(),
    "false": CommandRule(exit_code=1),
    "date": CommandRule(output="{date}"),
    "printenv": CommandRule(output="{env}"),
    "env": CommandRule(output="{env}"),
    "hostname": CommandRule(output="{hostname}"),
    "whoami": CommandRule(output="root"),
    "id": CommandRule(output="uid=0(root) gid=0(root) groups=0(root),10(wheel)"),
    "uname": CommandRule(output="Linux"),
    "pwd": CommandRule(output="/"),
    "ls": CommandRule(output=_LISTING),
    "seq": CommandRule(output="{seq}"),
    "tail": CommandRule(runs="follow"),
    "yes": CommandRule(runs="forever"),
    # shell built-ins with no visible effect here
    "cd": CommandRule(), "set": CommandRule(), "trap": CommandRule(), "kill": CommandRule(), "wait": CommandRule(),
    "unset": CommandRule(), "export": CommandRule(), "mkdir": CommandRule(), "touch": CommandRule(),
    "rm": CommandRule(), "cp": CommandRule(), "mv": CommandRule(), "chmod": CommandRule(),
}

# server binaries: run until stopped and exit 0 on SIGTERM
SERVERS = frozenset({
    "nginx", "httpd", "httpd-foreground", "apache2", "apache2-foreground", "redis-server", "postgres", "mysqld",
    "docker-entrypoint.sh", "/docker-entrypoint.sh", "pause", "/pause", "coredns", "/coredns", "etcd",
    "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kindnetd",
})

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})

# images whose entrypoint refuses to start without one of these variables: (variables, output, exit code)
REQUIRED_ENV: dict[str, tuple[tuple[str, ...], str, int]] = {
    "docker.io/library/postgres": (
        ("POSTGRES_PASSWORD", "POSTGRES_HOST_AUTH_METHOD"),
        "Error: Database is uninitialized and superuser password is not specified.\n"
        "       You must specify POSTGRES_PASSWORD to a non-empty value for the\n"
        '       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".', 1),
    "docker.io/library/mysql": (
        ("MYSQL_ROOT_PASSWORD", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD"),
        "[ERROR] [Entrypoint]: Database is uninitialized and password option is not specified\n"
        "    You need to specify one of the following as an environment variable:\n"
        "    - MYSQL_ROOT_PASSWORD\n    - MYSQL_ALLOW_EMPTY_PASSWORD\n    - MYSQL_RANDOM_ROOT_PASSWORD", 1),
}

NO_OUTPUT_NOTICE = ('kubelab: the simulated runtime runs no real process for image "{image}", '
                    "so this container has no output")

# ------------------------------------------------------------------------------------------------ messages
# Event reasons and messages as the kubelet writes them (pkg/kubelet/events, images/image_manager.go,
# kuberuntime/kuberuntime_container.go and kuberuntime_manager.go).
PULLING = EventSpec("Pulling", 'Pulling image "{image}"')
PULLED = EventSpec("Pulled", 'Successfully pulled image "{image}" in {pull_time} ({total_time} including waiting). '
                             "Image size: {image_size} bytes.")
ALREADY_PRESENT = EventSpec("Pulled", 'Container image "{image}" already present on machine')
PULL_FAILED = EventSpec("Failed", 'Failed to pull image "{image}": {error}', "Warning")
PULL_BACKOFF = EventSpec("BackOff", 'Back-off pulling image "{image}"')
NEVER_PULL = EventSpec("ErrImageNeverPull", 'Container image "{image}" is not present with pull policy of Never',
                       "Warning")
INSPECT_FAILED = EventSpec("InspectFailed", 'Failed to apply default image tag "{image}": {error}', "Warning")
CREATED = EventSpec("Created", "Created container: {container}")
STARTED = EventSpec("Started", "Started container {container}")
KILLING = EventSpec("Killing", "Stopping container {container}")
UNHEALTHY = EventSpec("Unhealthy", "{probe} probe failed: {output}", "Warning")
PROBE_ERRORED = EventSpec("Unhealthy", "{probe} probe errored: {output}", "Warning")
PROBE_KILLING = EventSpec("Killing", "Container {container} failed {probe} probe, will be restarted")
PROBE_KILLING_FINAL = EventSpec("Killing", "Container {container} failed {probe} probe")
FAILED_MOUNT = EventSpec("FailedMount", "{error}", "Warning")
RESTART_BACKOFF = EventSpec("BackOff", "Back-off restarting failed container {container} in pod {pod_full}",
                            "Warning")


def error_event(reason: str) -> EventSpec:
    return EventSpec("Failed", f"Error: {reason}", "Warning")


CRASH_LOOP_MESSAGE = "back-off {backoff} restarting failed container={container} pod={pod_full}"

# node events (kubelet_node_status.go, nodestatus/setters.go)
NODE_STARTING = EventSpec("Starting", "Starting kubelet.")
NODE_ALLOCATABLE = EventSpec("NodeAllocatableEnforced", "Updated Node Allocatable limit across pods")
NODE_STATUS_EVENT = "Node {node} status is now: {reason}"

# node conditions: type -> (status, reason, message) while healthy
NODE_CONDITIONS: tuple[tuple[str, str, str, str], ...] = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)
NODE_CONDITION_EVENTS = {"KubeletHasSufficientMemory": "NodeHasSufficientMemory",
                         "KubeletHasNoDiskPressure": "NodeHasNoDiskPressure",
                         "KubeletHasSufficientPID": "NodeHasSufficientPID", "KubeletReady": "NodeReady"}


# ------------------------------------------------------------------------------------------------ stages
# Selectors read the container step context (kubelab.kubelet.pod_workers.ContainerStep).
def needs_pull(c: Any) -> bool:
    return bool(c.pull_policy == "Always" or (c.pull_policy != "Never" and not c.image_present))


def present_no_pull(c: Any) -> bool:
    return bool(c.image_present and c.pull_policy != "Always")


def never_pull_absent(c: Any) -> bool:
    return bool(c.pull_policy == "Never" and not c.image_present)


CONTAINER_START: tuple[Stage, ...] = (
    Stage("crash-loop-back-off", selector=lambda c: c.in_crash_backoff, waiting="CrashLoopBackOff",
          message=CRASH_LOOP_MESSAGE, events=(RESTART_BACKOFF,), final=True),
    Stage("inspect-image", action="inspect_image",
          failure=Failure("InvalidImageName", INSPECT_FAILED.message, (INSPECT_FAILED, error_event("InvalidImageName")))),
    Stage("image-never-pull", selector=never_pull_absent, waiting="ErrImageNeverPull",
          message=NEVER_PULL.message, events=(NEVER_PULL, error_event("ErrImageNeverPull")), final=True),
    Stage("image-present", selector=present_no_pull, events=(ALREADY_PRESENT,)),
    Stage("image-pull-back-off", selector=lambda c: needs_pull(c) and c.in_pull_backoff, waiting="ImagePullBackOff",
          message=PULL_BACKOFF.message, events=(PULL_BACKOFF, error_event("ImagePullBackOff")), final=True),
    Stage("pulling", selector=needs_pull, events=(PULLING,), trace="pull"),
    Stage("pull", selector=needs_pull, delay="image_pull_delay", action="pull_image", events=(PULLED,),
          failure=Failure("ErrImagePull", "{error}", (PULL_FAILED, error_event("ErrImagePull")))),
    Stage("create", delay="container_start_delay", action="create_container", events=(CREATED,), trace="create",
          failure=Failure("CreateContainerConfigError", "{error}", (EventSpec("Failed", "Error: {error}",
                                                                               "Warning"),))),
    Stage("start", action="start_container", events=(STARTED,), trace="start",
          failure=Failure("RunContainerError", "{error}", (EventSpec("Failed", "Error: {error}", "Warning"),))),
)

CONTAINER_KILL: tuple[Stage, ...] = (
    Stage("killing", selector=lambda c: c.running, events=(KILLING,), trace="kill"),
    Stage("stop", selector=lambda c: c.running, action="stop_container"),
)

# a container whose liveness or startup probe failed (with a real runtime): stopped with the grace period, then
# restarted by the pod worker as the restart policy says
CONTAINER_KILL_UNHEALTHY: tuple[Stage, ...] = (
    Stage("killing-unhealthy", selector=lambda c: c.will_restart, events=(PROBE_KILLING,), trace="kill"),
    Stage("killing-unhealthy-final", selector=lambda c: not c.will_restart, events=(PROBE_KILLING_FINAL,),
          trace="kill"),
    Stage("stop", action="stop_container"),
)


def go_duration(seconds: float) -> str:
    """Format like Go's time.Duration.String(), as kubelet messages do: 200ms, 1.5s, 10s, 1m20s, 5m0s."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)

    def num(x: float) -> str:
        return f"{x:.9f}".rstrip("0").rstrip(".")

    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{num(ns / 1e3)}µs"
    if ns < 1_000_000_000:
        return f"{sign}{num(ns / 1e6)}ms"
    h, rem = divmod(ns, 3_600_000_000_000)
    m, rem = divmod(rem, 60_000_000_000)
    out = f"{h}h" if h else ""
    if h or m:
        out += f"{m}m"
    return f"{sign}{out}{num(rem / 1e9)}s"
