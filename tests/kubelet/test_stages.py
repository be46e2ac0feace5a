"""The generic stage player: selectors, delays from LabConfig, events, failures and final stages."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelab.clock import Clock, FakeClock
from kubelab.config import LabConfig
from kubelab.kubelet.lifecycle import go_duration
from kubelab.kubelet.stages import EventSpec, Failure, Stage, StageError, play


class Ctx:
    def __init__(self) -> None:
        self.config = LabConfig(image_pull_delay=2.0)
        self.fake = FakeClock()
        self.clock: Clock = self.fake
        self.log: list[str] = []
        self.fail = False

    def variables(self) -> dict[str, Any]:
        return {"image": "nginx", "container": "c"}

    async def perform(self, action: str) -> dict[str, Any] | None:
        self.log.append(f"do {action} at {self.clock.monotonic()}")
        if self.fail:
            raise StageError("boom")
        return {"size": 42}

    def show_waiting(self, reason: str, message: str = "") -> None:
        self.log.append(f"waiting {reason} {message}".rstrip())

    def record(self, event: EventSpec, message: str) -> None:
        self.log.append(f"event {event.reason}: {message}")

    def trace(self, action: str, message: str) -> None:
        self.log.append(f"trace {action}")

    def aborted(self) -> bool:
        return False


STAGES = (
    Stage("skipped", selector=lambda c: False, events=(EventSpec("Never", "never"),)),
    Stage("pull", delay="image_pull_delay", action="pull", trace="pull",
          events=(EventSpec("Pulled", "pulled {image}: {size} bytes {missing}"),),
          failure=Failure("ErrImagePull", "{error}", (EventSpec("Failed", "Error: {reason}", "Warning"),))),
    Stage("stop-here", waiting="Blocked", message="because {container}", final=True),
    Stage("unreached", events=(EventSpec("Nope", "nope"),)),
)


def test_play_in_order_with_delays_and_a_final_stage() -> None:
    async def run() -> None:
        ctx = Ctx()
        task = asyncio.create_task(play(STAGES, ctx))
        for _ in range(3):
            await asyncio.sleep(0)
        ctx.fake.advance(2.0)
        out = await task
        assert not out.ok and out.stage == "stop-here" and out.reason == "Blocked" and out.message == "because c"
        assert ctx.log == ["do pull at 2.0", "event Pulled: pulled nginx: 42 bytes {missing}", "trace pull",
                           "waiting Blocked because c"]

    asyncio.run(run())


def test_a_failed_action_shows_its_failure() -> None:
    async def run() -> None:
        ctx = Ctx()
        ctx.fail = True
        task = asyncio.create_task(play(STAGES, ctx))
        for _ in range(3):
            await asyncio.sleep(0)
        ctx.fake.advance(2.0)
        out = await task
        assert (out.ok, out.reason, out.message) == (False, "ErrImagePull", "boom")
        assert ctx.log[-2:] == ["waiting ErrImagePull boom", "event Failed: Error: ErrImagePull"]

    asyncio.run(run())


def test_go_duration() -> None:
    assert [go_duration(s) for s in (0, 0.2, 1, 1.5, 10, 80, 160, 300, 3600)] == \
        ["0s", "200ms", "1s", "1.5s", "10s", "1m20s", "2m40s", "5m0s", "1h0m0s"]
