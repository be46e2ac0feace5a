"""Image references and the lab's pull rule."""

from __future__ import annotations

import pytest

from kubelab.kubelet import images


@pytest.mark.parametrize(("image", "tagged"), [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.27", "docker.io/library/nginx:1.27"),
    ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
    ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
    ("localhost:5000/app:v1", "localhost:5000/app:v1"),
    ("docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36"),
])
def test_parse(image: str, tagged: str) -> None:
    assert images.parse(image).tagged == tagged


def test_repo_digest_is_deterministic() -> None:
    ref = images.parse("nginx:1.27")
    assert ref.repo_digest == images.parse("docker.io/library/nginx:1.27").repo_digest
    assert ref.repo_digest.startswith("docker.io/library/nginx@sha256:") and len(ref.repo_digest.split(":")[-1]) == 64


def test_invalid_names() -> None:
    with pytest.raises(images.InvalidImageName, match="must be lowercase"):
        images.parse("Nginx")


@pytest.mark.parametrize("image", ["nginx", "nginx:1.27", "nginx:1.27.3-alpine", "busybox:1.36", "alpine:3.20",
                                   "redis:7.2", "python:3.12-slim", "httpd:2.4", "postgres:16", "ubuntu:24.04",
                                   "debian:bookworm-slim", "someone/app:v1", "ghcr.io/org/tool:0.1",
                                   "registry.k8s.io/pause:3.10"])
def test_pullable(image: str) -> None:
    images.check_pull(image)


@pytest.mark.parametrize(("image", "code", "fragment"), [
    ("nginx:does-not-exist", "NotFound", "docker.io/library/nginx:does-not-exist: not found"),
    ("busybox:9.99", "NotFound", "not found"),
    ("my.registry.example/app:v1", "Unknown", "lookup my.registry.example: no such host"),
    ("localhost:5000/app:v1", "Unknown", "connect: connection refused"),
])
def test_unpullable(image: str, code: str, fragment: str) -> None:
    with pytest.raises(images.PullError) as e:
        images.check_pull(image)
    assert e.value.code == code and fragment in str(e.value)


def test_configured_unpullable_images_with_globs() -> None:
    with pytest.raises(images.PullError):
        images.check_pull("someone/app:broken", ("*:broken",))
    images.check_pull("someone/app:v1", ("*:broken",))
