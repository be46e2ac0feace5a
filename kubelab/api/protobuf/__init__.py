"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``) decoded to their JSON form.

Mirrors the decode half of k8s.io/apimachinery/pkg/runtime/serializer/protobuf for the built-in kinds typed Go
clients such as kubectl send (``kubectl create deployment|secret|service|...``, ``kubectl create token``).
Simplified: decoding only (kubelab answers in JSON), no streaming/watch framing. See decode.py.
"""

from kubelab.api.protobuf.decode import (
    PROTOBUF_CONTENT_TYPE,
    decode_message,
    decode_object,
    go_duration,
    message_for,
    supported_kinds,
)

__all__ = [
    "PROTOBUF_CONTENT_TYPE",
    "decode_message",
    "decode_object",
    "go_duration",
    "message_for",
    "supported_kinds",
]
