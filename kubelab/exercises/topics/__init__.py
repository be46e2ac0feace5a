"""One module per topic; importing this package registers every exercise (in course order)."""

from kubelab.exercises.topics import (  # noqa: F401
    architecture,
    clusters,
    controllers,
    lifecycle,
    node,
    pods,
    real_clusters,
    scheduling,
)
