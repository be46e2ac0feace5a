"""The catalogue's server images, served by the runtime itself: nginx, httpd, http-echo, whoami, pause.

One asyncio server per container on the runtime's event loop, bound to the pod IP: no extra process, so a
Deployment of 100 nginx replicas costs a listening socket and a few KB each. What a learner sees mirrors the
real images: nginx's and httpd's welcome pages (or the files of a volume mounted at the document root), their
error pages and ``Server`` headers, an access-log line per request in the container log (nginx's ``combined``
format with its ``$http_x_forwarded_for``; httpd's common log format), http-echo's ``-text``/``-listen``/
``-status-code`` and whoami's report of the request. Simplified: HTTP/1.1 GET/HEAD only (other methods get
405), no ranges or caching headers, directories without index.html are 403 (no autoindex).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import mimetypes
import os
import socket
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

NGINX_VERSION, HTTPD_VERSION = "1.29.3", "2.4.65"

NGINX_INDEX = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""
HTTPD_INDEX = "<html><body><h1>It works!</h1></body></html>\n"
NGINX_50X = ("<!DOCTYPE html>\n<html>\n<head>\n<title>Error</title>\n</head>\n<body>\n<h1>An error occurred.</h1>\n"
             "<p>Sorry, the page you are looking for is currently unavailable.<br/>\nPlease try again later.</p>\n"
             "</body>\n</html>\n")
DEFAULT_PAGES = {"nginx": {"index.html": NGINX_INDEX, "50x.html": NGINX_50X}, "httpd": {"index.html": HTTPD_INDEX}}

_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Not Allowed"}
Log = Callable[[str, str], None]  # (stream, line)


def _err_page(kind: str, code: int) -> str:
    reason = _REASONS.get(code, "Error")
    if kind == "httpd":
        text = {404: "The requested URL was not found on this server.",
                403: "You don't have permission to access this resource."}.get(code, reason)
        return (f'<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>{code} {reason}</title>\n'
                f"</head><body>\n<h1>{reason}</h1>\n<p>{text}</p>\n</body></html>\n")
    return (f"<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1>"
            f"</center>\r\n<hr><center>nginx/{NGINX_VERSION}</center>\r\n</body>\r\n</html>\r\n")


def _flag(args: list[str], name: str, default: str) -> str:
    """Go's flag package: -name=v, --name=v, -name v."""
    for i, a in enumerate(args):
        key, eq, val = a.lstrip("-").partition("=")
        if a.startswith("-") and key == name:
            return val if eq else (args[i + 1] if i + 1 < len(args) else "")
    return default


class Server:
    """One server container. ``start`` returns an exit code when the server cannot run (the container then
    exits with it), else None; ``stop`` answers SIGTERM (exit code 0, as the real servers do)."""

    def __init__(self, kind: str, args: list[str], *, pod_ip: str, hostname: str, env: dict[str, str],
                 resolve: Callable[[str], str], log: Log, now: Callable[[], _dt.datetime]) -> None:
        self.kind, self.args, self.pod_ip, self.hostname, self.env = kind, args, pod_ip, hostname, env
        self.resolve, self.log, self.now = resolve, log, now
        self.port = 0
        self.server: asyncio.AbstractServer | None = None
        self.text, self.status = "", 200
        self.stopped = False

    async def start(self) -> int | None:
        if self.kind == "pause":
            return None
        if self.kind == "http-echo":
            self.text = _flag(self.args, "text", self.env.get("ECHO_TEXT", ""))
            if not self.text:
                self.log("stderr", "Missing -text option!")
                return 127
            self.status = int(_flag(self.args, "status-code", "200") or 200)
            self.port = int(_flag(self.args, "listen", ":5678").rpartition(":")[2] or 5678)
        elif self.kind == "whoami":
            self.port = int(_flag(self.args, "port", self.env.get("WHOAMI_PORT_NUMBER", "80")) or 80)
        else:
            self.port = 80
        try:
            self.server = await asyncio.start_server(self.handle, self.pod_ip, self.port, reuse_address=True)
        except PermissionError:
            start = _unprivileged_port_start()
            self.log("stderr", f"kubelab: cannot listen on {self.pod_ip}:{self.port}: ports below {start} need "
                               "privileges here (sysctl net.ipv4.ip_unprivileged_port_start); kubectl port-forward "
                               "still reaches this server, other pods and Services cannot")
        except OSError as e:
            self.log("stderr", self._bind_error(e))
            return 1
        self._startup_lines()
        return None

    def _bind_error(self, e: OSError) -> str:
        if self.kind == "nginx":
            return (f"{self.now():%Y/%m/%d %H:%M:%S} [emerg] 1#1: bind() to {self.pod_ip}:{self.port} failed "
                    f"({e.errno}: {e.strerror})")
        return f"listen tcp {self.pod_ip}:{self.port}: bind: {(e.strerror or str(e)).lower()}"

    def _startup_lines(self) -> None:
        t = self.now()
        if self.kind == "nginx":
            self.log("stdout", "/docker-entrypoint.sh: Configuration complete; ready for start up")
            for msg in (f"nginx/{NGINX_VERSION}", "start worker processes", "start worker process 29"):
                self.log("stderr", f"{t:%Y/%m/%d %H:%M:%S} [notice] 1#1: {msg}")
        elif self.kind == "httpd":
            self.log("stderr", f"AH00558: httpd: Could not reliably determine the server's fully qualified domain "
                               f"name, using {self.pod_ip}. Set the 'ServerName' directive globally to suppress "
                               "this message")
            self.log("stderr", f"[{t:%a %b %d %H:%M:%S.%f %Y}] [mpm_event:notice] [pid 1:tid 1] AH00489: "
                               f"Apache/{HTTPD_VERSION} (Unix) configured -- resuming normal operations")
        elif self.kind == "http-echo":
            self.log("stderr", f"{t:%Y/%m/%d %H:%M:%S} [INFO] server is listening on :{self.port}")
        elif self.kind == "whoami":
            self.log("stderr", f"{t:%Y/%m/%d %H:%M:%S} Starting up on port {self.port}")

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        if self.server is not None:
            self.server.close()
            self.server = None
        t = self.now()
        if self.kind == "nginx":
            for msg in ("signal 15 (SIGTERM) received, exiting", "exit"):
                self.log("stderr", f"{t:%Y/%m/%d %H:%M:%S} [notice] 1#1: {msg}")
        elif self.kind == "pause":
            self.log("stderr", "Shutting down, got signal: Terminated")

    # -------------------------------------------------------------------------------------------- HTTP
    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("127.0.0.1", 0)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                headers = {}
                for h in lines[1:]:
                    k, _, v = h.partition(":")
                    if k:
                        headers[k.strip().lower()] = v.strip()
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                if len(parts) != 3:
                    await self._respond(writer, peer, lines[0], headers, 400, b"", close=True)
                    return
                close = headers.get("connection", "").lower() == "close" or parts[2] == "HTTP/1.0"
                code, body, ctype = self._answer(parts[0], parts[1], parts[2], headers, peer)
                await self._respond(writer, peer, lines[0], headers, code, body, ctype=ctype, close=close,
                                    head_only=parts[0] == "HEAD")
                if close:
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def _answer(self, method: str, target: str, version: str, headers: dict[str, str],
                peer: tuple[str, int]) -> tuple[int, bytes, str]:
        if self.kind == "http-echo":
            return self.status, (self.text + "\n").encode(), "text/plain; charset=utf-8"
        if self.kind == "whoami":
            lines = [f"Hostname: {self.hostname}", "IP: 127.0.0.1", f"IP: {self.pod_ip}",
                     f"RemoteAddr: {peer[0]}:{peer[1]}", f"{method} {target} {version}"]
            lines += [f"{k.title()}: {v}" for k, v in headers.items()]
            return 200, ("\r\n".join(lines) + "\r\n\r\n").encode(), "text/plain; charset=utf-8"
        if method not in ("GET", "HEAD"):
            return 405, _err_page(self.kind, 405).encode(), "text/html"
        path = os.path.normpath("/" + unquote(urlsplit(target).path).lstrip("/"))
        host = self.resolve(path)
        if os.path.isdir(host):
            host = os.path.join(host, "index.html")
            if not os.path.isfile(host):
                return 403, _err_page(self.kind, 403).encode(), "text/html"
        try:
            with open(host, "rb") as f:
                body = f.read()
        except OSError:
            return 404, _err_page(self.kind, 404).encode(), "text/html"
        return 200, body, mimetypes.guess_type(host)[0] or "application/octet-stream"

    async def _respond(self, writer: asyncio.StreamWriter, peer: tuple[str, int], request_line: str,
                       headers: dict[str, str], code: int, body: bytes, *, ctype: str = "text/html",
                       close: bool = False, head_only: bool = False) -> None:
        t = self.now()
        server = {"nginx": f"nginx/{NGINX_VERSION}", "httpd": f"Apache/{HTTPD_VERSION} (Unix)"}.get(self.kind)
        hdr = [f"HTTP/1.1 {code} {_REASONS.get(code, 'OK')}"] + ([f"Server: {server}"] if server else []) + [
            f"Date: {t:%a, %d %b %Y %H:%M:%S} GMT", f"Content-Type: {ctype}", f"Content-Length: {len(body)}",
            f"Connection: {'close' if close else 'keep-alive'}"]
        writer.write(("\r\n".join(hdr) + "\r\n\r\n").encode() + (b"" if head_only else body))
        await writer.drain()
        stamp = f"{t:%d/%b/%Y:%H:%M:%S} +0000"
        if self.kind == "nginx":
            self.log("stdout", f'{peer[0]} - - [{stamp}] "{request_line}" {code} {len(body)} '
                               f'"{headers.get("referer", "-")}" "{headers.get("user-agent", "-")}" '
                               f'"{headers.get("x-forwarded-for", "-")}"')
        elif self.kind == "httpd":
            self.log("stdout", f'{peer[0]} - - [{stamp}] "{request_line}" {code} {len(body)}')
        elif self.kind == "http-echo":
            self.log("stderr", f'{t:%Y/%m/%d %H:%M:%S} {headers.get("host", "")} {peer[0]}:{peer[1]} '
                               f'"{request_line}" {code} {len(body)} "{headers.get("user-agent", "")}"')

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """An in-process connection to the server (port-forward when the port could not be bound)."""
        a, b = socket.socketpair()
        loop = asyncio.get_running_loop()
        srv_reader = asyncio.StreamReader()
        proto = asyncio.StreamReaderProtocol(srv_reader, self.handle)
        await loop.connect_accepted_socket(lambda: proto, b)
        return await asyncio.open_connection(sock=a)


def _unprivileged_port_start() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 1024
