"""The in-tree plugins, one module each, and the registry that names them (upstream's plugins/registry.go)."""

from kubelab.scheduler.framework.registry import Registry
from kubelab.scheduler.plugins.balancedallocation import BalancedAllocation
from kubelab.scheduler.plugins.defaultpreemption import DefaultPreemption
from kubelab.scheduler.plugins.dynamicresources import DynamicResources
from kubelab.scheduler.plugins.interpodaffinity import InterPodAffinity
from kubelab.scheduler.plugins.nodeaffinity import NodeAffinity
from kubelab.scheduler.plugins.nodename import NodeName
from kubelab.scheduler.plugins.nodeports import NodePorts
from kubelab.scheduler.plugins.noderesourcesfit import NodeResourcesFit
from kubelab.scheduler.plugins.nodeunschedulable import NodeUnschedulable
from kubelab.scheduler.plugins.podtopologyspread import PodTopologySpread
from kubelab.scheduler.plugins.prioritysort import PrioritySort
from kubelab.scheduler.plugins.tainttoleration import TaintToleration

IN_TREE = Registry()
for _cls in (PrioritySort, NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit,
             PodTopologySpread, InterPodAffinity, DynamicResources, DefaultPreemption, BalancedAllocation):
    IN_TREE.register(_cls)

__all__ = ["IN_TREE", "BalancedAllocation", "DefaultPreemption", "DynamicResources", "InterPodAffinity",
           "NodeAffinity", "NodeName", "NodePorts", "NodeResourcesFit", "NodeUnschedulable", "PodTopologySpread",
           "PrioritySort", "TaintToleration"]
