"""The notebook layer: the ``%kube`` / ``%%kube`` magics (:mod:`kubelab.notebook.magics`) and the widgets.

It sits on top of everything else and reaches clusters only through the public ``kubelab`` API and real
kubectl. Modules here import IPython, so nothing below this package imports them.
"""
