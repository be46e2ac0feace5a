"""ProcessRuntime's logs, exec (pipes and pty), exec probes, attach, port-forward and simulated images."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from kubelab.kubelet.process import process_runtime_unavailable_reason
from kubelab.kubelet.process.crilog import MAX_LINE
from kubelab.kubelet.runtime import CONTAINER_RUNNING, CRIError, Mount
from tests.kubelet.process.helpers import exited, run, runtime, sandbox, until

pytestmark = pytest.mark.skipif(process_runtime_unavailable_reason() is not None,
                                reason=str(process_runtime_unavailable_reason()))
CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (stdout|stderr) [FP] .*$")


def test_logs_are_cri_files_with_tail_follow_and_the_previous_attempt_kept(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            pod = await sandbox(rt)
            first = await run(rt, ["sh", "-c", f"echo one; echo two >&2; head -c {MAX_LINE + 10} /dev/zero | "
                                               "tr '\\0' x; echo; printf tail-without-newline"], pod=pod)
            assert await exited(rt, first) == 0
            path = Path(rt._containers[first].log_path)
            raw = path.read_text().splitlines()
            assert all(CRI_LINE.match(line) for line in raw)
            assert [line.split(" ", 3)[1:3] for line in raw] == [["stdout", "F"], ["stderr", "F"], ["stdout", "P"],
                                                                 ["stdout", "F"], ["stdout", "F"]]
            entries = [e async for e in rt.logs(first)]
            assert [(e.stream, e.line[:5]) for e in entries] == [("stdout", "one"), ("stderr", "two"),
                                                                  ("stdout", "xxxxx"), ("stdout", "tail-")]
            assert len(entries[2].line) == MAX_LINE + 10
            assert [e.line async for e in rt.logs(first, tail=1)] == ["tail-without-newline"]
            second = await run(rt, ["sh", "-c", "for i in 1 2 3; do echo n$i; sleep 0.1; done"], pod=pod, attempt=1)
            followed = [e.line async for e in rt.logs(second, follow=True)]
            assert followed == ["n1", "n2", "n3"]
            assert (await rt.container_status(second)).state != CONTAINER_RUNNING
            assert path.exists() and Path(rt._containers[second].log_path).name == "1.log"
            await rt.remove_container(first)
            assert not path.exists()

    asyncio.run(main())


def test_exec_with_pipes_and_a_tty_in_the_containers_view(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "hello.txt").write_text("hi from the volume\n")

    async def main() -> None:
        async with runtime(tmp_path / "rt") as rt:
            cid = await run(rt, ["sleep", "3600"], mounts=[Mount("/data", str(vol))], working_dir="/data",
                            env={"GREETING": "hello"})
            s = await rt.exec(cid, ["sh", "-c", "cat; pwd; cat hello.txt; echo $GREETING $HOSTNAME >&2"], stdin=True)
            await s.write(b"from stdin\n")
            s.close_stdin()
            assert s.stdout is not None and s.stderr is not None
            out, err = await asyncio.gather(s.stdout.read(), s.stderr.read())
            assert await s.wait() == 0
            assert out == b"from stdin\n/data\nhi from the volume\n" and err == b"hello p\n"

            t = await rt.exec(cid, ["sh"], tty=True, stdin=True)
            assert t.stderr is None and t.stdout is not None
            t.resize(91, 27)
            await t.write(b"tty; stty size; exit 5\n")
            text = (await asyncio.wait_for(t.stdout.read(), 10)).decode()
            assert await t.wait() == 5
            # (the shell's prompt may come first on the line: it races with the terminal's echo of our input)
            assert re.search(r"/dev/pts/\d+\r$", text, re.M) and re.search(r"^27 91\r$", text, re.M)

            with pytest.raises(CRIError, match="executable file not found"):
                await rt.exec(cid, ["no-such-tool"])
            await rt.stop_container(cid, 0)
            with pytest.raises(CRIError, match="FailedPrecondition"):
                await rt.exec(cid, ["true"])

    asyncio.run(main())


def test_exec_sync_for_probes_and_its_timeout(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            cid = await run(rt, ["sleep", "3600"])
            assert await rt.exec_sync(cid, ["sh", "-c", "echo ok; echo bad >&2; exit 2"], 5) == (2, b"ok\n", b"bad\n")
            with pytest.raises(CRIError, match="DeadlineExceeded.*timeout 0.3s exceeded"):
                await rt.exec_sync(cid, ["sleep", "30"], 0.3)
            assert (await rt.container_status(cid)).state == CONTAINER_RUNNING

    asyncio.run(main())


def test_attach_to_a_stdin_container(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            # stdin: true without stdinOnce: the end of a session's stdin detaches it, the container reads on
            kept = await run(rt, ["sh", "-c", "while read line; do echo got:$line; done; echo bye; exit 7"],
                             stdin=True, name="kept")
            first = await rt.attach(kept, stdin=True)
            await first.write(b"one\n")
            assert first.stdout is not None
            assert await asyncio.wait_for(first.stdout.readline(), 10) == b"got:one\n"
            first.close_stdin()
            assert await asyncio.wait_for(first.wait(), 10) == 0 and await first.stdout.read() == b""
            second = await rt.attach(kept, stdin=True)
            await second.write(b"two\n")
            assert second.stdout is not None
            assert await asyncio.wait_for(second.stdout.readline(), 10) == b"got:two\n"
            assert (await rt.container_status(kept)).state == CONTAINER_RUNNING
            second.kill()

            # stdinOnce: the end of the first session's stdin is the container's
            cid = await run(rt, ["sh", "-c", "while read line; do echo got:$line; done; echo bye; exit 7"],
                            stdin=True, stdin_once=True)
            s = await rt.attach(cid, stdin=True)
            assert s.stdout is not None
            await s.write(b"one\ntwo\n")
            assert await asyncio.wait_for(s.stdout.readline(), 10) == b"got:one\n"
            assert await asyncio.wait_for(s.stdout.readline(), 10) == b"got:two\n"
            s.close_stdin()
            assert await asyncio.wait_for(s.wait(), 10) == 7
            assert await s.stdout.read() == b"bye\n"
            assert [e.line async for e in rt.logs(cid)] == ["got:one", "got:two", "bye"]

    asyncio.run(main())


async def _get(rt: object, sid: str, port: int, path: str = "/") -> bytes:
    r, w = await rt.port_forward(sid, port)  # type: ignore[attr-defined]
    w.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\nConnection: close\r\n\r\n".encode())
    body = await asyncio.wait_for(r.read(), 10)
    w.close()
    return bytes(body)


def test_port_forward_to_nginx_and_http_echo(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("my site\n")

    async def main() -> None:
        async with runtime(tmp_path / "rt") as rt:
            pod = await sandbox(rt, "web")
            cid = await run(rt, [], image="nginx:1.27", pod=pod)
            resp = await _get(rt, pod[0], 80)
            assert resp.startswith(b"HTTP/1.1 200 OK") and b"<title>Welcome to nginx!</title>" in resp
            assert b"404 Not Found" in await _get(rt, pod[0], 80, "/missing")
            log = [e.line async for e in rt.logs(cid)]
            assert re.search(r'"GET / HTTP/1.1" 200 615 "-" "test" "-"$', log[-2])
            assert await rt.exec_sync(cid, ["cat", "/usr/share/nginx/html/index.html"], 5) == (
                0, (await _get(rt, pod[0], 80)).split(b"\r\n\r\n", 1)[1], b"")
            with pytest.raises(CRIError, match=f'failed to connect to localhost:81 inside namespace "{pod[0]}", '
                                               r"IPv4: dial tcp4 127\.244\.9\.\d+:81: connect: connection refused"):
                await rt.port_forward(pod[0], 81)

            mine = await sandbox(rt, "mine")
            await run(rt, [], image="httpd", pod=mine, mounts=[Mount("/usr/local/apache2/htdocs", str(site))])
            assert (await _get(rt, mine[0], 80)).endswith(b"\r\n\r\nmy site\n")

            echo = await sandbox(rt, "echo")
            await run(rt, [], image="hashicorp/http-echo", pod=echo, args=["-text=hello world", "-listen=:8080"])
            assert (await _get(rt, echo[0], 8080)).endswith(b"\r\n\r\nhello world\n")
            who = await sandbox(rt, "who")
            await run(rt, [], image="traefik/whoami", pod=who, args=["--port", "8081"])
            assert b"Hostname: who\r\n" in await _get(rt, who[0], 8081)
            pause = await run(rt, [], image="registry.k8s.io/pause:3.10", name="pause")
            bad = await run(rt, [], image="hashicorp/http-echo", name="bad")
            assert await exited(rt, bad) == 127
            for server in (cid, pause):
                await rt.stop_container(server, 30)
                assert (await rt.container_status(server)).exit_code == 0

    asyncio.run(main())


def test_image_outside_the_catalogue_runs_simulated_with_a_notice(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            cid = await run(rt, ["sh", "-c", "echo hi"], image="myorg/app:1")
            lines = [e.line async for e in rt.logs(cid, follow=True)]
            assert lines[0].startswith('kubelab: image "myorg/app:1" is not in the process runtime\'s catalogue '
                                       "(busybox, alpine,") and lines[0].endswith("there is no real output")
            assert lines[1:] == ["hi"]
            srv = await run(rt, [], image="redis:7", name="redis")
            with pytest.raises(CRIError, match="runs simulated"):
                await rt.exec(srv, ["redis-cli"])

            async def running() -> bool:
                return (await rt.container_status(srv)).state == CONTAINER_RUNNING
            await until(running)
            with pytest.raises(CRIError, match="NotFound"):
                await rt.pull_image("nginx:does-not-exist")

    asyncio.run(main())


def test_tty_container_attach_and_exec_ending_with_the_container(tmp_path: Path) -> None:
    async def main() -> None:
        async with runtime(tmp_path) as rt:
            cid = await run(rt, ["sh"], stdin=True, tty=True)
            s = await rt.attach(cid, tty=True, stdin=True)
            assert s.stderr is None and s.stdout is not None
            e = await rt.exec(cid, ["sh", "-c", "echo started; exec sleep 3600"])
            assert e.stdout is not None
            assert await asyncio.wait_for(e.stdout.readline(), 10) == b"started\n"
            await s.write(b"echo attached-$((40 + 2))\n")
            seen = b""
            while b"attached-42\r\n" not in seen:
                seen += await asyncio.wait_for(s.stdout.read(1024), 10)
            await s.write(b"exit 3\n")
            assert await asyncio.wait_for(s.wait(), 10) == 3
            assert await asyncio.wait_for(e.wait(), 10) == 137  # its exec'd processes went with it
            assert "attached-42" in [e.line async for e in rt.logs(cid)]

    asyncio.run(main())


def test_unbindable_port_is_reported_and_port_forward_still_works(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: object, **kw: object) -> None:
        raise PermissionError(13, "Permission denied")

    async def main() -> None:
        async with runtime(tmp_path) as rt:
            pod = await sandbox(rt)
            monkeypatch.setattr(asyncio, "start_server", refuse)
            cid = await run(rt, [], image="httpd", pod=pod)
            monkeypatch.undo()
            lines = [e.line async for e in rt.logs(cid)]
            assert lines[0].startswith("kubelab: cannot listen on 127.244.9.") and "ip_unprivileged_port_start" in \
                lines[0]
            assert b"<h1>It works!</h1>" in await _get(rt, pod[0], 80)

    asyncio.run(main())
