"""The lab layer: the ``Cluster`` facade and the backends that create or connect to clusters."""

from kubelab.lab.backends import BackendError, connect, create_cluster
from kubelab.lab.cluster import ApiRequestError, Cluster, KubectlError

__all__ = ["ApiRequestError", "BackendError", "Cluster", "KubectlError", "connect", "create_cluster"]
