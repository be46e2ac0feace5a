"""Lab settings: the timings that make lessons run in seconds, each with its real-Kubernetes value beside it.

``LabConfig()`` gives the lab defaults; ``LabConfig.realistic()`` the upstream defaults (kubelet, controller
manager and scheduler flags of the same names).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class LabConfig:
    # kubelet
    image_pull_delay: float = 0.2  # seconds a simulated pull takes (real: network-bound)
    container_start_delay: float = 0.05  # ContainerCreating -> Running
    node_status_update_frequency: float = 2.0  # real 10s
    node_lease_duration: float = 8.0  # real 40s (renewed every duration/4)
    crashloop_backoff_base: float = 1.0  # real 10s
    crashloop_backoff_max: float = 10.0  # real 300s
    # controller manager
    node_monitor_grace_period: float = 6.0  # real 50s (40s before 1.32): NotReady after this long without a heartbeat
    default_toleration_seconds: int = 10  # real 300: DefaultTolerationSeconds for not-ready/unreachable
    cronjob_check_interval: float = 1.0  # real 10s
    # scheduler
    scheduler_backoff_initial: float = 0.2  # real 1s
    scheduler_backoff_max: float = 2.0  # real 10s
    # images that cannot be pulled (besides unknown tags of well-known images; see kubelab.kubelet)
    unpullable_images: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)

    @staticmethod
    def realistic() -> LabConfig:
        return LabConfig(image_pull_delay=2.0, container_start_delay=0.5, node_status_update_frequency=10.0,
                         node_lease_duration=40.0, crashloop_backoff_base=10.0, crashloop_backoff_max=300.0,
                         node_monitor_grace_period=50.0, default_toleration_seconds=300,
                         cronjob_check_interval=10.0, scheduler_backoff_initial=1.0, scheduler_backoff_max=10.0)

    def with_(self, **kw: object) -> LabConfig:
        return replace(self, **kw)  # type: ignore[arg-type]
