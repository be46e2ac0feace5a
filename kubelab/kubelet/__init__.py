"""The kubelet: one per node. Registers the Node, heartbeats (Lease and status), and runs the pods bound to it.

    from kubelab.kubelet import Kubelet, NodeSpec, make_log_provider
    kl = Kubelet(client, NodeSpec("local-worker"), LabConfig())
    task = asyncio.create_task(kl.run())          # on the API server's event loop
    ctx.log_provider = make_log_provider({kl.name: kl})
    ctx.exec_provider = make_exec_provider({kl.name: kl})   # also attach and portforward: see streaming

Layers, as on the Kubernetes diagram: ``kubelet`` (node registration, lease, pod source) -> ``pod_workers`` (one
worker per pod: SyncPod) -> ``runtime`` (the CRI-shaped interface; ``SimulatedRuntime`` today). The rules a
learner may want to change (what commands do, event messages, the stage tables) are data in ``lifecycle``.
"""

from kubelab.kubelet.kubelet import Kubelet, static_pod_hash
from kubelab.kubelet.logs import make_log_provider
from kubelab.kubelet.nodespec import NodeSpec
from kubelab.kubelet.runtime import CRIError, Runtime, SimulatedRuntime
from kubelab.kubelet.streaming import make_attach_provider, make_exec_provider, make_portforward_provider

__all__ = ["CRIError", "Kubelet", "NodeSpec", "Runtime", "SimulatedRuntime", "make_attach_provider",
           "make_exec_provider", "make_log_provider", "make_portforward_provider", "static_pod_hash"]
