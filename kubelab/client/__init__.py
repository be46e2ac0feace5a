"""The in-process API client the control-plane components use, with informers and a work queue.

Components (scheduler, controllers, kubelets) talk to the API server only, never to the store, exactly as in
Kubernetes; in-process they skip the sockets but take the same registry path (defaulting, validation, admission,
watch) that an HTTP request takes. Mirrors client-go: a typed-ish client, shared informers with a local cache and
event handlers, and a rate-limited work queue.
"""

from kubelab.client.client import Client, Watch
from kubelab.client.informer import Informer, InformerFactory, meta_key
from kubelab.client.workqueue import WorkQueue

__all__ = ["Client", "Informer", "InformerFactory", "Watch", "WorkQueue", "meta_key"]
