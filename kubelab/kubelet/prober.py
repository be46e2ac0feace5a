"""Container probes, really run: exec, httpGet and tcpSocket, one worker per container and probe.

Mirrors pkg/kubelet/prober: the probe manager (``prober_manager.go``) keeps one worker (``worker.go``) per
container and probe type on the kubelet's injected clock; each probe (``prober.go`` with pkg/probe/exec, http,
tcp) yields success or failure, and a result changes only after ``successThreshold`` or ``failureThreshold``
equal results in a row. Initial results: readiness Failure, liveness Success, startup unknown; a startupProbe
holds back liveness and readiness until it succeeds. Every failed probe records a Warning ``Unhealthy`` event
with the kubelet's message (``Liveness probe failed: HTTP probe failed with statuscode: 500``). Results are
keyed by container ID, so a restarted container starts from the initial results again.

The pod worker reads the results: readiness sets the container's ``ready`` (and the pod's Ready and
ContainersReady conditions, which move the pod in and out of Service endpoints); a failed liveness or startup
probe makes it kill the container ("Container web failed liveness probe, will be restarted") and restart it as
the restart policy says.

Used only with a real runtime; the simulated runtime's probes are rules of time (``kubelab.kubelet.status``).
Simplified: the first probe runs ``initialDelaySeconds`` after the container started (upstream: at the first
period tick after that), HTTP redirects are not followed (a 3xx is a success), gRPC probes are not run and
count as successes.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from kubelab.kubelet import lifecycle
from kubelab.kubelet.runtime import CONTAINER_RUNNING, ContainerStatus, CRIError

if TYPE_CHECKING:
    from kubelab.kubelet.kubelet import Kubelet
    from kubelab.kubelet.pod_workers import PodWorker

log = logging.getLogger(__name__)
Obj = dict[str, Any]
T = TypeVar("T")

LIVENESS, READINESS, STARTUP = "liveness", "readiness", "startup"
SPEC_FIELD = {LIVENESS: "livenessProbe", READINESS: "readinessProbe", STARTUP: "startupProbe"}
SUCCESS, FAILURE, ERROR = "success", "failure", "error"
MAX_BODY = 10 * 1024


# ------------------------------------------------------------------------------------------------ probes
async def deadline(clock: Any, seconds: float, aw: Awaitable[T]) -> T:
    """``aw`` within ``seconds`` of the injected clock, else TimeoutError (the probe's timeoutSeconds)."""
    task = asyncio.ensure_future(aw)
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
    if not task.done():
        task.cancel()
        raise TimeoutError
    return task.result()


def _dial_error(host: str, port: int, e: OSError) -> str:
    reason = "connection refused" if isinstance(e, ConnectionRefusedError) else (e.strerror or str(e)).lower()
    return f"dial tcp {_hostport(host, port)}: connect: {reason}"


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_port(port: Any, container: Obj) -> int:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p.get("containerPort") or 0)
    raise ValueError(f"couldn't find port: {port} in container {container.get('name', '')}")


async def _http_status(host: str, port: int, scheme: str, path: str, headers: list[tuple[str, str]]) -> int:
    ctx = None
    if scheme == "HTTPS":  # probes do not verify the server's certificate
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx)
    try:
        lines = [f"GET {path} HTTP/1.1"]
        names = {k.lower() for k, _ in headers}
        if "host" not in names:
            lines.append(f"Host: {_hostport(host, port)}")
        lines += [f"{k}: {v}" for k, v in headers] + ["Connection: close", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1", "replace"))
        await writer.drain()
        status = (await reader.readline()).decode("latin-1").split()
        if len(status) < 2 or not status[1].isdigit():
            raise ValueError("malformed HTTP response")
        return int(status[1])
    finally:
        writer.close()


async def run_probe(kl: Kubelet, probe: Obj, container: Obj, container_id: str, pod_ip: str) -> tuple[str, str]:
    """One probe: (SUCCESS | FAILURE | ERROR, output), the output as the kubelet words it."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    clock = kl.clock
    if probe.get("exec") is not None:
        cmd = [str(a) for a in probe["exec"].get("command") or []]
        try:
            code, out, err = await deadline(clock, timeout + 1, kl.runtime.exec_sync(container_id, cmd, timeout))
        except TimeoutError:
            return FAILURE, f'command "{" ".join(cmd)}" timed out'
        except CRIError as e:
            if e.code == "DeadlineExceeded":
                return FAILURE, f'command "{" ".join(cmd)}" timed out'
            return ERROR, str(e)
        return (SUCCESS if code == 0 else FAILURE), (out + err).decode("utf-8", "replace").rstrip("\n")
    for kind in ("httpGet", "tcpSocket"):
        if probe.get(kind) is None:
            continue
        h = probe[kind]
        host = h.get("host") or pod_ip
        try:
            port = resolve_port(h.get("port"), container)
        except ValueError as e:
            return ERROR, str(e)
        if kind == "tcpSocket":
            try:
                _r, w = await deadline(clock, timeout, asyncio.open_connection(host, port))
                w.close()
            except TimeoutError:
                return FAILURE, f"dial tcp {_hostport(host, port)}: i/o timeout"
            except OSError as e:
                return FAILURE, _dial_error(host, port, e)
            return SUCCESS, ""
        scheme = (h.get("scheme") or "HTTP").upper()
        path = h.get("path") or "/"
        path = path if path.startswith("/") else "/" + path
        url = f"{scheme.lower()}://{_hostport(host, port)}{path}"
        headers = [("User-Agent", kl.probe_user_agent), ("Accept", "*/*")]
        custom = [(str(x.get("name", "")), str(x.get("value", ""))) for x in h.get("httpHeaders") or []]
        headers = [kv for kv in headers if kv[0].lower() not in {k.lower() for k, _ in custom}] + custom
        try:
            status = await deadline(clock, timeout, _http_status(host, port, scheme, path, headers))
        except TimeoutError:
            return FAILURE, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
        except OSError as e:
            return FAILURE, f'Get "{url}": {_dial_error(host, port, e)}'
        except ValueError as e:
            return FAILURE, f'Get "{url}": {e}'
        if 200 <= status < 400:
            return SUCCESS, ""
        return FAILURE, f"HTTP probe failed with statuscode: {status}"
    if probe.get("grpc") is not None:
        return SUCCESS, ""  # not run by kubelab (see the module docstring)
    return ERROR, "missing probe handler"


# ------------------------------------------------------------------------------------------------ workers
class ProbeWorker:
    """worker.go: probes one container of one pod for one probe type until the pod goes away."""

    def __init__(self, manager: ProbeManager, pw: PodWorker, container: Obj, kind: str, init: bool) -> None:
        self.m, self.pw, self.container, self.kind, self.init = manager, pw, container, kind, init
        self.name: str = container.get("name", "")
        self.container_id = ""
        self.last: bool | None = None
        self.run_length = 0
        self.on_hold = False  # after a liveness/startup failure, until the container is replaced
        self.next_due = 0.0  # clock.monotonic() of the next probe: a wake-up before then probes nothing
        self._wake = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"probe-{kind}-{self.name}")

    @property
    def spec(self) -> Obj:
        return dict(self.container.get(SPEC_FIELD[self.kind]) or {})

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            try:
                wait = await self.do_probe()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("probe worker %s/%s failed", self.pw.name, self.name)
                wait = float(self.spec.get("periodSeconds") or 10)
            waiter = asyncio.ensure_future(self._wake.wait())
            sleeper = asyncio.ensure_future(self.m.kl.clock.sleep(wait)) if wait is not None else None
            try:
                await asyncio.wait({waiter, *([sleeper] if sleeper else [])}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                if sleeper is not None:
                    sleeper.cancel()
            self._wake.clear()

    def _reset(self, container_id: str) -> None:
        self.container_id, self.last, self.run_length, self.on_hold = container_id, None, 0, False
        self.next_due = 0.0
        self.m.results.pop((self.pw.key, self.name, self.kind), None)

    async def do_probe(self) -> float | None:
        """Probe once if it is time; the seconds until the next look (None: until woken)."""
        cs: ContainerStatus | None = self.pw.latest(self.name)
        if cs is None or cs.state != CONTAINER_RUNNING:
            return None
        if cs.id != self.container_id:
            self._reset(cs.id)
        spec = self.spec
        period = float(spec.get("periodSeconds") or 10)
        if self.on_hold:
            return None
        if self.kind != STARTUP and self.container.get("startupProbe") and not self.m.result(self.pw.key, self.name,
                                                                                           STARTUP, cs.id):
            return None  # the startup worker wakes this one when the container has started
        if self.kind == STARTUP and self.m.result(self.pw.key, self.name, STARTUP, cs.id):
            return None  # started: a startup probe is done for this container
        up = (self.m.kl.clock.now() - (cs.started_at or self.m.kl.clock.now())).total_seconds()
        delay = float(spec.get("initialDelaySeconds") or 0)
        if up < delay:
            return delay - up
        clock = self.m.kl.clock
        if clock.monotonic() < self.next_due:
            return self.next_due - clock.monotonic()
        self.next_due = clock.monotonic() + period
        outcome, output = await run_probe(self.m.kl, spec, self.container, cs.id, self.pw.pod_ip)
        period = max(self.next_due - clock.monotonic(), 0.0)
        label = self.kind.capitalize()
        if outcome == ERROR:  # the prober itself failed: the result is thrown away
            self._event(lifecycle.PROBE_ERRORED, probe=label, output=output)
            return period
        ok = outcome == SUCCESS
        if ok == self.last:
            self.run_length += 1
        else:
            self.last, self.run_length = ok, 1
        if not ok:
            self._event(lifecycle.UNHEALTHY, probe=label, output=output)
        threshold = int(spec.get("successThreshold") or 1) if ok else int(spec.get("failureThreshold") or 3)
        if self.run_length < threshold:
            return period
        changed = self.m.set_result(self.pw.key, self.name, self.kind, cs.id, ok)
        if not ok and self.kind in (LIVENESS, STARTUP):
            self.on_hold, self.run_length = True, 0
        if changed:
            self.m.kl.emit("probe", self.pw.pod, f"{self.kind} probe of {self.name}: {'success' if ok else 'failure'}")
            self.pw.kick()
            if self.kind == STARTUP:
                self.m.wake(self.pw.key)
        return period

    def _event(self, spec: Any, **variables: str) -> None:
        field = f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"
        self.m.kl.record_event(self.pw.pod, spec.reason, spec.render(variables), spec.type, field_path=field)


class ProbeManager:
    """prober_manager.go: workers per (pod, container, probe type) and their latest results."""

    def __init__(self, kl: Kubelet) -> None:
        self.kl = kl
        self.workers: dict[tuple[str, str, str], ProbeWorker] = {}
        self.results: dict[tuple[str, str, str], tuple[str, bool]] = {}  # -> (container id, success)

    def sync_pod(self, pw: PodWorker) -> None:
        """AddPod (idempotent) and a nudge: the pod's containers may have started, stopped or been replaced."""
        spec = pw.pod.get("spec") or {}
        for init, c in [*((True, c) for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"),
                        *((False, c) for c in spec.get("containers") or [])]:
            for kind, field in SPEC_FIELD.items():
                key = (pw.key, c.get("name", ""), kind)
                if c.get(field) and key not in self.workers:
                    self.workers[key] = ProbeWorker(self, pw, c, kind, init)
        self.wake(pw.key)

    def wake(self, pod_key: str) -> None:
        for (k, _, _), w in self.workers.items():
            if k == pod_key:
                w.wake()

    def remove_pod(self, pod_key: str) -> None:
        for key in [k for k in self.workers if k[0] == pod_key]:
            self.workers.pop(key).task.cancel()
        for key in [k for k in self.results if k[0] == pod_key]:
            del self.results[key]

    def stop(self) -> None:
        for w in self.workers.values():
            w.task.cancel()
        self.workers.clear()

    def result(self, pod_key: str, name: str, kind: str, container_id: str) -> bool | None:
        r = self.results.get((pod_key, name, kind))
        return r[1] if r is not None and r[0] == container_id else None

    def set_result(self, pod_key: str, name: str, kind: str, container_id: str, ok: bool) -> bool:
        key = (pod_key, name, kind)
        changed = self.results.get(key) != (container_id, ok)
        self.results[key] = (container_id, ok)
        return changed

    def started_ready(self, pod_key: str, container: Obj, cs: ContainerStatus | None) -> tuple[bool, bool]:
        """The container's ``started`` and ``ready`` from probe results (initial values until a result)."""
        if cs is None or cs.state != CONTAINER_RUNNING:
            return False, False
        name = container.get("name", "")
        if container.get("startupProbe") and not self.result(pod_key, name, STARTUP, cs.id):
            return False, False
        if not container.get("readinessProbe"):
            return True, True
        return True, bool(self.result(pod_key, name, READINESS, cs.id))

    def kill_reason(self, pod_key: str, name: str, container_id: str) -> str:
        """"liveness" or "startup" when that probe failed for this container (it must be restarted), else ""."""
        for kind in (LIVENESS, STARTUP):
            if self.result(pod_key, name, kind, container_id) is False:
                return kind
        return ""
