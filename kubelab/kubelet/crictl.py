"""crictl, the CRI command-line tool, against one node's runtime (mirrors kubernetes-sigs/cri-tools cmd/crictl).

On a kind node a learner runs ``crictl ps`` to see what the kubelet asked containerd for; here ``crictl(runtime,
["ps"])`` asks the node's runtime (simulated or process) the same CRI questions and prints the answers the way
crictl 1.3x does: the same column headers, tabwriter layout (min width 20, padding 3), 13-character ids,
"2 minutes ago" ages, newest first, and the same error texts. Ids may be given as any unique prefix, as
containerd resolves them.

Commands: ``ps`` (-a, --name, --namespace, --pod, --state, --id, -q, -o json|yaml|table, --no-trunc, -l, -n),
``pods`` (--name, --namespace, --state, --id, -q, -o, --no-trunc, -l, -n), ``images`` (-q, --digests,
--no-trunc, -o), ``logs`` (--tail N, -t), ``inspect`` / ``inspectp`` (JSON: status and info), ``version``.
Simplified: no streaming commands (exec, attach, port-forward: use kubectl), no writes (run, stop, rm), and the
verbose ``info`` holds what the runtime can tell (a runtime may add to it with ``container_info(id)`` /
``sandbox_info(id)``).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

import yaml

from kubelab.clock import rfc3339_nano as _go_rfc3339_nano
from kubelab.kubelet.runtime import CONTAINER_CREATED, CONTAINER_EXITED, CRIError, Runtime

VERSION = "1.34.0"
TRUNC = 13
_STATES = {"CONTAINER_CREATED": "Created", "CONTAINER_RUNNING": "Running", "CONTAINER_EXITED": "Exited",
           "CONTAINER_UNKNOWN": "Unknown"}
_POD_STATES = {"SANDBOX_READY": "Ready", "SANDBOX_NOTREADY": "NotReady"}
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


class CrictlError(Exception):
    """crictl failed; ``message`` is its error text, ``stderr`` the line it prints (logrus' fatal format)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def stderr(self) -> str:
        return f"FATA[0000] {self.message}"


# ------------------------------------------------------------------------------------------------ formatting
def table(rows: list[list[str]]) -> str:
    """Go's text/tabwriter as crictl configures it: every column but the last padded to max(20, widest + 3)."""
    if not rows:
        return ""
    widths = [max(20, max(len(r[i]) for r in rows) + 3) for i in range(len(rows[0]) - 1)]
    return "".join("".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + r[-1] + "\n" for r in rows)


def human_duration(seconds: float) -> str:
    """docker/go-units HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def human_size(size: float) -> str:
    """docker/go-units HumanSizeWithPrecision(size, 3): decimal units."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.3g}{units[i]}"


def _trunc(value: str, prefix: str = "") -> str:
    return value.removeprefix(prefix)[:TRUNC]


def _nanos(t: _dt.datetime | None) -> int:
    return 0 if t is None else int((t - _EPOCH).total_seconds() * 1_000_000) * 1000


def rfc3339_nano(t: _dt.datetime | None) -> str:
    """Go's time.RFC3339Nano; the zero time for None."""
    return "0001-01-01T00:00:00Z" if t is None else _go_rfc3339_nano(t)


# ------------------------------------------------------------------------------------------------ arguments
class _Args:
    """urfave/cli-style flags: ``--name value``, ``--name=value``, ``-n 3``, combined short booleans (``-aq``)."""

    def __init__(self, argv: list[str], bools: dict[str, str], values: dict[str, str]) -> None:
        self.flags: dict[str, Any] = {}
        self.positional: list[str] = []
        i = 0
        while i < len(argv):
            a = argv[i]
            i += 1
            if not a.startswith("-") or a == "-":
                self.positional.append(a)
                continue
            name, eq, inline = a.lstrip("-").partition("=")
            if a.startswith("-") and not a.startswith("--") and len(name) > 1 and not eq \
                    and all(ch in bools for ch in name):
                for ch in name:
                    self.flags[bools[ch]] = True
                continue
            if name in bools:
                self.flags[bools[name]] = inline.lower() != "false" if eq else True
            elif name in values:
                if not eq:
                    if i >= len(argv):
                        raise CrictlError(f"flag needs an argument: {a}")
                    inline = argv[i]
                    i += 1
                self.flags[values[name]] = inline
            else:
                raise CrictlError(f"flag provided but not defined: -{name}")

    def get(self, name: str, default: Any = None) -> Any:
        return self.flags.get(name, default)

    def int(self, name: str) -> int:
        raw = self.flags.get(name)
        if raw is None:
            return 0
        try:
            return int(raw)
        except ValueError:
            raise CrictlError(f'invalid value "{raw}" for flag -{name}: parse error') from None


_LIST_BOOLS = {"a": "all", "all": "all", "q": "quiet", "quiet": "quiet", "no-trunc": "no-trunc", "l": "latest",
               "latest": "latest", "v": "verbose", "verbose": "verbose"}
_LIST_VALUES = {"name": "name", "namespace": "namespace", "p": "pod", "pod": "pod", "s": "state",
                "state": "state", "id": "id", "o": "output", "output": "output", "n": "last", "last": "last",
                "image": "image"}


def _regex(pattern: str | None) -> Callable[[str], bool]:
    if not pattern:
        return lambda _s: True
    try:
        rx = re.compile(pattern)
    except re.error:
        return lambda _s: False  # crictl: a pattern that does not compile matches nothing
    return lambda s: rx.search(s) is not None


def _limit(items: list[Any], args: _Args) -> list[Any]:
    if args.get("latest"):
        return items[:1]
    last = args.int("last")
    return items[:last] if last > 0 else items


def _resolve(kind: str, ids: list[str], prefix: str) -> str:
    """containerd's id index: the full id, or the one id starting with ``prefix``."""
    if prefix in ids:
        return prefix
    hits = [i for i in ids if prefix and i.startswith(prefix)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise CRIError("Unknown", f"multiple IDs found with provided prefix: {prefix}")
    raise CRIError("NotFound", f'an error occurred when try to find {kind} "{prefix}": not found')


def _dump(obj: Any, output: str) -> str:
    if output == "yaml":
        return yaml.safe_dump(obj, sort_keys=False) + "\n"
    return json.dumps(obj, indent=2) + "\n"


# ------------------------------------------------------------------------------------------------ commands
class _Crictl:
    def __init__(self, runtime: Runtime, now: _dt.datetime) -> None:
        self.rt = runtime
        self.now = now

    def ago(self, t: _dt.datetime) -> str:
        return human_duration((self.now - t).total_seconds()) + " ago"

    async def image_id(self, image: str) -> str:
        img = await self.rt.image_status(image)
        return img.id if img is not None else ""

    async def ps(self, argv: list[str]) -> str:
        args = _Args(argv, _LIST_BOOLS, _LIST_VALUES)
        if args.positional:
            raise CrictlError(f"crictl ps takes no arguments (got {' '.join(args.positional)})")
        output = args.get("output", "table")
        if output not in ("table", "json", "yaml"):
            raise CrictlError(f'listing containers: unsupported output format "{output}"')
        state = (args.get("state") or "").lower()
        wanted = {"created": "CONTAINER_CREATED", "running": "CONTAINER_RUNNING", "exited": "CONTAINER_EXITED",
                  "unknown": "CONTAINER_UNKNOWN"}
        if state and state not in wanted:
            raise CrictlError("listing containers: --state should be one of created, running, exited or unknown")
        if not state and not args.get("all") and not args.get("latest") and not args.int("last"):
            state = "running"
        sandboxes = {sb.id: sb for sb in await self.rt.list_pod_sandboxes()}
        pod = args.get("pod") or ""
        name_ok, ns_ok = _regex(args.get("name")), _regex(args.get("namespace"))
        found = []
        for c in await self.rt.list_containers():
            ns = c.labels.get("io.kubernetes.pod.namespace") or (
                sandboxes[c.sandbox_id].config.namespace if c.sandbox_id in sandboxes else "unknown")
            if (state and c.state != wanted[state]) or (pod and not c.sandbox_id.startswith(pod)) \
                    or (args.get("id") and not c.id.startswith(args.get("id"))) \
                    or not name_ok(c.name) or not ns_ok(ns):
                continue
            found.append((c, ns))
        found.sort(key=lambda cn: cn[0].created_at, reverse=True)
        found = _limit(found, args)
        if args.get("quiet"):
            return "".join(c.id + "\n" for c, _ in found)
        if output != "table":
            items = []
            for c, _ in found:
                items.append({"id": c.id, "podSandboxId": c.sandbox_id,
                              "metadata": {"name": c.name, "attempt": c.attempt},
                              "image": {"image": await self.image_id(c.image), "annotations": {},
                                        "userSpecifiedImage": c.image, "runtimeHandler": ""},
                              "imageRef": c.image_ref, "state": c.state, "createdAt": str(_nanos(c.created_at)),
                              "labels": dict(c.labels), "annotations": dict(c.annotations), "imageId": ""})
            return _dump({"containers": items}, output)
        no_trunc = args.get("no-trunc")
        rows = [["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD", "NAMESPACE"]]
        for c, ns in found:
            image = await self.image_id(c.image) or c.image
            sb = sandboxes.get(c.sandbox_id)
            pod_name = c.labels.get("io.kubernetes.pod.name") or (sb.config.name if sb else "unknown")
            rows.append([c.id if no_trunc else _trunc(c.id),
                         image if no_trunc or not image.startswith("sha256:") else _trunc(image, "sha256:"),
                         self.ago(c.created_at), _STATES.get(c.state, "Unknown"), c.name, str(c.attempt),
                         c.sandbox_id if no_trunc else _trunc(c.sandbox_id), pod_name, ns])
        return table(rows)

    async def pods(self, argv: list[str]) -> str:
        args = _Args(argv, _LIST_BOOLS, _LIST_VALUES)
        output = args.get("output", "table")
        if output not in ("table", "json", "yaml"):
            raise CrictlError(f'list pod sandboxes: unsupported output format "{output}"')
        state = (args.get("state") or "").lower()
        if state and state not in ("ready", "notready"):
            raise CrictlError("--state should be ready or notready")
        name_ok, ns_ok = _regex(args.get("name")), _regex(args.get("namespace"))
        found = [sb for sb in await self.rt.list_pod_sandboxes()
                 if (not state or _POD_STATES.get(sb.state, "").lower() == state)
                 and (not args.get("id") or sb.id.startswith(args.get("id")))
                 and name_ok(sb.config.name) and ns_ok(sb.config.namespace)]
        found.sort(key=lambda sb: sb.created_at, reverse=True)
        found = _limit(found, args)
        if args.get("quiet"):
            return "".join(sb.id + "\n" for sb in found)
        if output != "table":
            items = [{"id": sb.id, "metadata": {"name": sb.config.name, "uid": sb.config.uid,
                                                "namespace": sb.config.namespace, "attempt": sb.config.attempt},
                      "state": sb.state, "createdAt": str(_nanos(sb.created_at)), "labels": dict(sb.config.labels),
                      "annotations": dict(sb.config.annotations), "runtimeHandler": ""} for sb in found]
            return _dump({"items": items}, output)
        rows = [["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"]]
        for sb in found:
            rows.append([sb.id if args.get("no-trunc") else _trunc(sb.id), self.ago(sb.created_at),
                         _POD_STATES.get(sb.state, "NotReady"), sb.config.name, sb.config.namespace,
                         str(sb.config.attempt), "(default)"])
        return table(rows)

    async def images(self, argv: list[str]) -> str:
        args = _Args(argv, {"q": "quiet", "quiet": "quiet", "digests": "digests", "no-trunc": "no-trunc",
                            "v": "verbose", "verbose": "verbose"}, {"o": "output", "output": "output"})
        found = await self.rt.list_images()
        if args.positional:
            want = args.positional[0]
            found = [i for i in found if any(t == want or t.rsplit(":", 1)[0].endswith(want.split(":")[0])
                                             for t in i.repo_tags)]

        def ref(i: Any) -> str:
            return (i.repo_tags or i.repo_digests or [i.id])[0]  # type: ignore[no-any-return]

        found.sort(key=ref)
        if args.get("quiet"):
            return "".join(i.id + "\n" for i in found)
        output = args.get("output", "table")
        if output in ("json", "yaml"):
            items = [{"id": i.id, "repoTags": list(i.repo_tags), "repoDigests": list(i.repo_digests),
                      "size": str(i.size), "uid": None, "username": "", "spec": None, "pinned": False}
                     for i in found]
            return _dump({"images": items}, output)
        header = ["IMAGE", "TAG"] + (["DIGEST"] if args.get("digests") else []) + ["IMAGE ID", "SIZE"]
        rows = [header]
        for i in found:
            digest = i.repo_digests[0].split("@", 1)[1] if i.repo_digests and "@" in i.repo_digests[0] else "<none>"
            image_id = i.id if args.get("no-trunc") else _trunc(i.id, "sha256:")
            digest = digest if args.get("no-trunc") else _trunc(digest, "sha256:")
            for tag in i.repo_tags or [f"{i.repo_digests[0].split('@')[0] if i.repo_digests else '<none>'}:<none>"]:
                repo, _, t = tag.rpartition(":")
                rows.append([repo, t] + ([digest] if args.get("digests") else []) + [image_id, human_size(i.size)])
        return table(rows)

    async def logs(self, argv: list[str]) -> str:
        args = _Args(argv, {"t": "timestamps", "timestamps": "timestamps", "p": "previous",
                            "previous": "previous", "f": "follow", "follow": "follow"},
                     {"tail": "tail", "since": "since", "limit-bytes": "limit-bytes"})
        if not args.positional:
            raise CrictlError("ID cannot be empty")
        if args.get("follow"):
            raise CrictlError("--follow is not supported here: use kubectl logs -f")
        containers = await self.rt.list_containers()
        try:
            cid = _resolve("container", [c.id for c in containers], args.positional[0])
        except CRIError as e:
            raise CrictlError(f"failed to get container status: {e}") from None
        tail = int(args.get("tail")) if args.get("tail") not in (None, "-1") else None
        out = []
        async for entry in self.rt.logs(cid, tail=tail):
            stamp = rfc3339_nano(entry.time) + " " if args.get("timestamps") else ""
            out.append(stamp + entry.line + "\n")
        return "".join(out)

    async def inspect(self, argv: list[str]) -> str:
        args = _Args(argv, {"q": "quiet", "quiet": "quiet"}, {"o": "output", "output": "output"})
        if not args.positional:
            raise CrictlError("get the status of containers: ID cannot be empty")
        ids = [c.id for c in await self.rt.list_containers()]
        results = []
        for prefix in args.positional:
            try:
                status = await self.rt.container_status(_resolve("container", ids, prefix))
            except CRIError as e:
                raise CrictlError(f"get the status of containers: get container status: {e}") from None
            doc: dict[str, Any] = {"status": {
                "id": status.id, "metadata": {"attempt": status.attempt, "name": status.name},
                "state": status.state, "createdAt": rfc3339_nano(status.created_at),
                "startedAt": rfc3339_nano(None if status.state == CONTAINER_CREATED else status.started_at),
                "finishedAt": rfc3339_nano(status.finished_at if status.state == CONTAINER_EXITED else None),
                "exitCode": status.exit_code,
                "image": {"annotations": {}, "image": status.image, "runtimeHandler": "",
                          "userSpecifiedImage": ""},
                "imageRef": status.image_ref, "reason": status.reason, "message": status.message,
                "labels": dict(status.labels), "annotations": dict(status.annotations), "mounts": [],
                "logPath": "", "resources": None, "imageId": await self.image_id(status.image), "user": None,
                "stopSignal": ""}}
            if not args.get("quiet"):
                info: dict[str, Any] = {"sandboxID": status.sandbox_id, "removing": False,
                                        "runtimeType": _runtime_type(self.rt)}
                extra = getattr(self.rt, "container_info", None)
                if callable(extra):
                    info.update(extra(status.id) or {})
                doc["info"] = info
            results.append(doc)
        return _status_output(results, args.get("output") or "json")

    async def inspectp(self, argv: list[str]) -> str:
        args = _Args(argv, {"q": "quiet", "quiet": "quiet"}, {"o": "output", "output": "output"})
        if not args.positional:
            raise CrictlError("ID cannot be empty")
        ids = [sb.id for sb in await self.rt.list_pod_sandboxes()]
        results = []
        for prefix in args.positional:
            try:
                sb = await self.rt.pod_sandbox_status(_resolve("sandbox", ids, prefix))
            except CRIError as e:
                raise CrictlError(f"getting the pod sandbox status for {prefix!r}: get pod sandbox status: "
                                  f"{e}") from None
            network = "NODE" if sb.config.host_network else "POD"
            doc: dict[str, Any] = {"status": {
                "id": sb.id, "metadata": {"attempt": sb.config.attempt, "name": sb.config.name,
                                          "namespace": sb.config.namespace, "uid": sb.config.uid},
                "state": sb.state, "createdAt": rfc3339_nano(sb.created_at),
                "network": {"additionalIps": [], "ip": sb.ip},
                "linux": {"namespaces": {"options": {"ipc": network, "network": network, "pid": "CONTAINER",
                                                     "targetId": "", "userNsParams": None}}},
                "labels": dict(sb.config.labels), "annotations": dict(sb.config.annotations),
                "runtimeHandler": "", "containersStatuses": [], "timestamp": "0"}}
            if not args.get("quiet"):
                info: dict[str, Any] = {"image": "registry.k8s.io/pause:3.10", "runtimeHandler": "",
                                        "runtimeType": _runtime_type(self.rt),
                                        "processStatus": "running" if sb.state == "SANDBOX_READY" else "deleted",
                                        "config": {"metadata": {"name": sb.config.name, "uid": sb.config.uid,
                                                                "namespace": sb.config.namespace,
                                                                "attempt": sb.config.attempt},
                                                   "hostname": sb.config.hostname}}
                extra = getattr(self.rt, "sandbox_info", None)
                if callable(extra):
                    info.update(extra(sb.id) or {})
                doc["info"] = info
            results.append(doc)
        return _status_output(results, args.get("output") or "json")

    async def version(self, argv: list[str]) -> str:
        return (f"Version:  {VERSION}\nRuntimeName:  {self.rt.runtime_name}\n"
                f"RuntimeVersion:  v{self.rt.runtime_version.lstrip('v')}\nRuntimeApiVersion:  v1\n")


def _runtime_type(rt: Runtime) -> str:
    return "io.kubelab.process.v1" if getattr(rt, "real", False) else "io.kubelab.simulated.v1"


def _status_output(results: list[dict[str, Any]], output: str) -> str:
    """crictl's outputStatusData: one object alone, several as a list; keys sorted (Go re-marshals maps)."""
    doc: Any = results[0] if len(results) == 1 else results
    if output == "yaml":
        return yaml.safe_dump(doc) + "\n"
    if output != "json":
        raise CrictlError(f'unsupported format: "{output}"')
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


_COMMANDS = {"ps": "ps", "pods": "pods", "images": "images", "image": "images", "img": "images", "logs": "logs",
             "inspect": "inspect", "inspectp": "inspectp", "version": "version"}


async def run(runtime: Runtime, args: list[str], now: _dt.datetime | None = None) -> str:
    """``crictl <args>`` against ``runtime``, on the runtime's event loop; returns what crictl prints."""
    if not args:
        raise CrictlError("usage: crictl COMMAND [options] (ps, pods, images, logs, inspect, inspectp, version)")
    method = _COMMANDS.get(args[0])
    if method is None:
        raise CrictlError(f"No help topic for '{args[0]}'")
    clock = getattr(runtime, "clock", None)
    when = now or (clock.now() if clock is not None else _dt.datetime.now(_dt.UTC))
    result: str = await getattr(_Crictl(runtime, when), method)(list(args[1:]))
    return result


def crictl(runtime: Runtime, args: list[str], *, loop: asyncio.AbstractEventLoop | None = None,
           timeout: float = 30.0, now: _dt.datetime | None = None) -> str:
    """``crictl <args>`` from synchronous code: on ``loop`` (the cluster's, running in another thread) when given,
    else on a fresh loop. Raises ``CrictlError`` with crictl's message."""
    coro: Coroutine[Any, Any, str] = run(runtime, args, now)
    if loop is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise RuntimeError("crictl() blocks: on the cluster's own loop, await kubelab.kubelet.crictl.run()")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)
    return asyncio.run(coro)
