"""Image references and a pretend registry: which images exist, what they weigh, and why a pull fails.

Mirrors the image side of a container runtime (containerd's resolver and the distribution reference grammar):
``nginx`` means ``docker.io/library/nginx:latest``; image IDs and digests are sha256 strings. No bytes move: a
"pull" only records the image on the node.

The pull rule (what the lab treats as unpullable), in order:

1. any image listed in ``LabConfig.unpullable_images`` (as written, or fully qualified; shell-style globs such as
   ``"*:broken"`` allowed) fails with NotFound;
2. a registry host that is not a well-known public registry (``KNOWN_REGISTRIES``: docker.io, registry.k8s.io,
   quay.io, ghcr.io, gcr.io, mcr.microsoft.com, public.ecr.aws, ...) fails as a DNS lookup failure would
   (``localhost``/``127.0.0.1`` registries: connection refused), since the lab has no network;
3. a well-known image (``CATALOGUE``: nginx, busybox, alpine, redis, python, httpd, postgres, ubuntu, debian, ...)
   with a tag that does not match its catalogue of tags fails with NotFound (``nginx:does-not-exist``);
4. everything else pulls: a repository the lab does not know is assumed to exist (learners' own images).
Digest references (``image@sha256:...``) of known repositories always pull.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"
KNOWN_REGISTRIES = frozenset({
    "docker.io", "registry-1.docker.io", "index.docker.io", "registry.k8s.io", "k8s.gcr.io", "gcr.io",
    "quay.io", "ghcr.io", "mcr.microsoft.com", "public.ecr.aws", "registry.gitlab.com", "nvcr.io",
})



@dataclass(frozen=True)
class KnownImage:
    """A well-known repository: the tags that exist (a regular expression), its size, and what it runs."""

    tags: str
    size: int
    kind: str  # "server": runs until stopped | "shell": default command exits at once without a terminal
    default_user: str = "root"


# Tags as regular expressions: small catalogues of real tag families, enough to tell a typo from a version.
CATALOGUE: dict[str, KnownImage] = {
    "docker.io/library/nginx": KnownImage(
        r"latest|stable|mainline|alpine|alpine-slim|bookworm|perl|1\.(1[5-9]|2[0-9])(\.\d+)?"
        r"(-(alpine|alpine-slim|alpine-perl|bookworm|perl|otel))?", 72_223_946, "server"),
    "docker.io/library/httpd": KnownImage(r"latest|alpine|bookworm|2(\.4(\.\d+)?)?(-(alpine|bookworm))?",
                                          58_532_434, "server"),
    "docker.io/library/redis": KnownImage(r"latest|alpine|bookworm|[5-8](\.\d+){0,2}(-(alpine|bookworm))?",
                                          45_052_343, "server"),
    "docker.io/library/postgres": KnownImage(r"latest|alpine|bookworm|(9\.6|1[0-8])(\.\d+)?(-(alpine|bookworm))?",
                                             160_428_223, "server"),
    "docker.io/library/mysql": KnownImage(r"latest|lts|innovation|[58](\.\d+){0,2}(-(oracle|debian))?",
                                          235_112_233, "server"),
    "docker.io/library/busybox": KnownImage(r"latest|stable|musl|glibc|uclibc|1\.(2[89]|3[0-7])(\.\d+)?"
                                            r"(-(musl|glibc|uclibc))?", 2_155_910, "shell"),
    "docker.io/library/alpine": KnownImage(r"latest|edge|3(\.(\d|1\d|2[0-2])(\.\d+)?)?", 3_645_119, "shell"),
    "docker.io/library/ubuntu": KnownImage(r"latest|rolling|devel|bionic|focal|jammy|noble|oracular|plucky|"
                                           r"(1[4-9]|2[0-5])\.(04|10)", 29_754_422, "shell"),
    "docker.io/library/debian": KnownImage(r"latest|stable|bullseye|bookworm|trixie|buster|sid|"
                                           r"(bullseye|bookworm|trixie)-slim|stable-slim|(9|1[0-3])(\.\d+)?(-slim)?",
                                           48_479_427, "shell"),
    "docker.io/library/python": KnownImage(r"latest|alpine|slim|bookworm|3(\.([6-9]|1[0-4])(\.\d+)?)?"
                                           r"(-(alpine|slim|bookworm|slim-bookworm|alpine3\.\d+))?",
                                           412_562_193, "shell"),
    "registry.k8s.io/pause": KnownImage(r"3\.\d+", 320_368, "server"),
}

# images every kind node ships with (its "images" list at boot), name -> size
PRELOADED = {
    "registry.k8s.io/pause:3.10": 320_368,
    "registry.k8s.io/etcd:3.6.4-0": 23_640_418,
    "registry.k8s.io/coredns/coredns:v1.12.1": 22_384_805,
    "registry.k8s.io/kube-apiserver:v1.37.0": 30_102_771,
    "registry.k8s.io/kube-controller-manager:v1.37.0": 27_436_140,
    "registry.k8s.io/kube-scheduler:v1.37.0": 21_761_391,
    "registry.k8s.io/kube-proxy:v1.37.0": 31_457_134,
    "docker.io/kindest/kindnetd:v20250512-df8de77b": 44_375_501,
    "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a": 22_541_737,
    "docker.io/kindest/local-path-helper:v20241212-8ac705d0": 3_084_671,
}


class InvalidImageName(ValueError):
    pass


@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str  # "library/nginx"
    tag: str  # "" when pinned by digest
    digest: str  # "sha256:..." or ""

    @property
    def name(self) -> str:
        """Fully qualified repository: docker.io/library/nginx."""
        return f"{self.registry}/{self.repository}"

    @property
    def tagged(self) -> str:
        """docker.io/library/nginx:1.27 (or name@digest), what the runtime reports as the container image."""
        return f"{self.name}@{self.digest}" if self.digest and not self.tag else f"{self.name}:{self.tag}"

    @property
    def repo_digest(self) -> str:
        """docker.io/library/nginx@sha256:<64 hex>, what kubelet reports as imageID."""
        return f"{self.name}@{self.digest or manifest_digest(self.tagged)}"


_REF = re.compile(r"^(?:(?P<host>[a-zA-Z0-9.-]+(?::\d+)?|localhost(?::\d+)?)/)?(?P<path>[^:@]+)"
                  r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")
_PATH = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")


def parse(image: str) -> ImageRef:
    """Parse a reference as containerd does (docker.io and library/ implied, tag latest by default)."""
    m = _REF.match(image or "")
    if not m:
        raise InvalidImageName(f'couldn\'t parse image name "{image}": invalid reference format')
    host, path = m.group("host"), m.group("path")
    if host and "." not in host and ":" not in host and host != "localhost":
        path, host = f"{host}/{path}", None  # "bitnami/redis": the first part is a namespace, not a host
    registry = host or DEFAULT_REGISTRY
    if registry in ("index.docker.io", "registry-1.docker.io"):
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"library/{path}"
    if not _PATH.match(path):
        lower = path.lower()
        if _PATH.match(lower):
            raise InvalidImageName(f'couldn\'t parse image name "{image}": invalid reference format: '
                                   f"repository name ({path}) must be lowercase")
        raise InvalidImageName(f'couldn\'t parse image name "{image}": invalid reference format')
    digest = m.group("digest") or ""
    tag = m.group("tag") or ("" if digest else "latest")
    return ImageRef(registry, path, tag, digest)


def manifest_digest(tagged: str) -> str:
    """A deterministic fake manifest digest for a tagged image."""
    return "sha256:" + hashlib.sha256(f"manifest/{tagged}".encode()).hexdigest()


def image_id(tagged: str) -> str:
    """A deterministic fake image (config) id."""
    return "sha256:" + hashlib.sha256(f"config/{tagged}".encode()).hexdigest()


def known(ref: ImageRef) -> KnownImage | None:
    return CATALOGUE.get(ref.name)


def image_size(ref: ImageRef) -> int:
    kn = known(ref)
    if kn is not None:
        return kn.size
    pre = PRELOADED.get(ref.tagged)
    if pre is not None:
        return pre
    return 10_000_000 + int(hashlib.sha256(ref.tagged.encode()).hexdigest()[:6], 16) * 8


class PullError(Exception):
    """A failed pull, with the runtime's message (a gRPC status string, as containerd's errors read)."""

    def __init__(self, message: str, code: str = "Unknown") -> None:
        super().__init__(message)
        self.code = code


def check_pull(image: str, unpullable: tuple[str, ...] = ()) -> ImageRef:
    """The pull rule (module docstring): the parsed reference, or PullError saying why it cannot be pulled."""
    ref = parse(image)
    shown = ref.tagged
    for pattern in unpullable:
        if image == pattern or shown == pattern or fnmatch.fnmatchcase(image, pattern) or \
                fnmatch.fnmatchcase(shown, pattern):
            raise PullError(_not_found(ref), "NotFound")
    host = ref.registry.split(":")[0]
    if ref.registry not in KNOWN_REGISTRIES:
        url = f"https://{ref.registry}/v2/{ref.repository}/manifests/{ref.tag or ref.digest}"
        if host in ("localhost", "127.0.0.1"):
            why = f"dial tcp {'127.0.0.1' if host == 'localhost' else host}:{ref.registry.partition(':')[2] or 443}: " \
                  "connect: connection refused"
        else:
            why = f"dial tcp: lookup {host}: no such host"
        raise PullError(f'failed to pull and unpack image "{shown}": failed to resolve reference "{shown}": '
                        f'failed to do request: Head "{url}": {why}', "Unknown")
    kn = known(ref)
    if kn is not None and ref.tag and not re.fullmatch(kn.tags, ref.tag):
        raise PullError(_not_found(ref), "NotFound")
    return ref


def _not_found(ref: ImageRef) -> str:
    shown = ref.tagged
    return f'failed to pull and unpack image "{shown}": failed to resolve reference "{shown}": {shown}: not found'
