"""kube-proxy: Services -> endpoints, for clusters whose pods really run (the process runtime).

    from kubelab.proxy import Proxier, ProxyConfig
    proxy = Proxier(ProxyConfig(node_ips=("127.18.0.2",)), informers, trace)
    task = asyncio.create_task(proxy.run())      # on the cluster's event loop; proxy.stop() ends it

``rules`` computes what to forward from Services and EndpointSlices (a pure function); ``proxier`` listens and
forwards. Simulated clusters have no proxy: nothing listens there.
"""

from kubelab.proxy.proxier import Proxier, ProxyConfig
from kubelab.proxy.rules import Rule, Rules, ServicePortName, build_rules

__all__ = ["Proxier", "ProxyConfig", "Rule", "Rules", "ServicePortName", "build_rules"]
