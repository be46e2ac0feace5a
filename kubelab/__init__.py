"""kubelab: a Jupyter-native Kubernetes learning lab and kubectl companion."""

__version__ = "0.1.0"
