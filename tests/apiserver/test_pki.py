"""Tests for kubelab.apiserver.pki: certificate contents, TLS handshakes, identity extraction, persistence."""

from __future__ import annotations

import datetime as _dt
import ipaddress
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubelab.apiserver.pki import ClusterPKI
from kubelab.clock import FakeClock, SystemClock


@pytest.fixture(scope="module")
def pki() -> ClusterPKI:
    return ClusterPKI.generate(extra_hosts=["my-host.example", "192.168.7.7"])


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


class _TLSServer:
    """A one-thread TLS echo server on 127.0.0.1 that records each connection's outcome."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.results: list[dict[str, Any] | BaseException] = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    peer = tls.getpeercert()
                    self.results.append(peer or {})
                    data = tls.recv(16)
                    tls.sendall(data)
            except (ssl.SSLError, OSError) as exc:
                self.results.append(exc)

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        self._thread.join(timeout=5)


@pytest.fixture()
def server(pki: ClusterPKI) -> Iterator[_TLSServer]:
    srv = _TLSServer(pki.server_ssl_context())
    yield srv
    srv.close()


def _roundtrip(port: int, ctx: ssl.SSLContext, server_hostname: str = "localhost") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as tls:
            tls.sendall(b"ping")
            return tls.recv(16)


# ---------------------------------------------------------------------------- certificate contents


def test_ca_is_self_signed_ca(pki: ClusterPKI) -> None:
    ca = _cert(pki.ca_cert_pem)
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes"
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert bc.ca is True
    assert ca.not_valid_after_utc - ca.not_valid_before_utc >= _dt.timedelta(days=3649)
    ca.verify_directly_issued_by(ca)


def test_server_cert_sans_and_usage(pki: ClusterPKI) -> None:
    cert = _cert(pki.server_cert_pem)
    cert.verify_directly_issued_by(_cert(pki.ca_cert_pem))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(san.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert {
        "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local", "my-host.example",
    } <= dns
    assert {"127.0.0.1", "10.96.0.1", "192.168.7.7"} <= ips
    assert all(isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
               for ip in san.get_values_for_type(x509.IPAddress))
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_admin_cert_subject_and_usage(pki: ClusterPKI) -> None:
    cert = _cert(pki.admin_cert_pem)
    cert.verify_directly_issued_by(_cert(pki.ca_cert_pem))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes-admin"
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ["system:masters"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert ExtendedKeyUsageOID.SERVER_AUTH not in eku


def test_validity_follows_injected_clock() -> None:
    start = _dt.datetime(2030, 6, 1, 12, 0, tzinfo=_dt.UTC)
    pki = ClusterPKI.generate(clock=FakeClock(start))
    for pem in (pki.ca_cert_pem, pki.server_cert_pem, pki.admin_cert_pem):
        cert = _cert(pem)
        assert cert.not_valid_before_utc == start - _dt.timedelta(minutes=1)
        assert cert.not_valid_after_utc > start + _dt.timedelta(days=364)
    assert _cert(pki.ca_cert_pem).not_valid_after_utc == start + _dt.timedelta(days=3650)


def test_issue_client_cert(pki: ClusterPKI) -> None:
    cert_pem, key_pem = pki.issue_client_cert("jane", ["dev", "qa"])
    assert b"PRIVATE KEY" in key_pem
    cert = _cert(cert_pem)
    cert.verify_directly_issued_by(_cert(pki.ca_cert_pem))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "jane"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["dev", "qa"]
    with pytest.raises(ValueError):
        pki.issue_client_cert("", [])


# ---------------------------------------------------------------------------- identity


def test_identity_from_peercert_dict() -> None:
    peer = {
        "subject": (
            (("organizationName", "system:masters"),),
            (("organizationName", "devs"),),
            (("commonName", "kubernetes-admin"),),
        ),
        "issuer": ((("commonName", "kubernetes"),),),
    }
    assert ClusterPKI.identity_from_peercert(peer) == ("kubernetes-admin", ["system:masters", "devs"])
    assert ClusterPKI.identity_from_peercert({}) is None
    assert ClusterPKI.identity_from_peercert(None) is None
    assert ClusterPKI.identity_from_peercert({"subject": ((("organizationName", "x"),),)}) is None


# ---------------------------------------------------------------------------- TLS handshakes


def test_handshake_with_admin_cert(pki: ClusterPKI, server: _TLSServer) -> None:
    ctx = pki.client_ssl_context(pki.admin_cert_pem, pki.admin_key_pem)
    assert _roundtrip(server.port, ctx) == b"ping"
    peer = server.results[-1]
    assert isinstance(peer, dict)
    assert ClusterPKI.identity_from_peercert(peer) == ("kubernetes-admin", ["system:masters"])


def test_handshake_by_ip_and_in_cluster_name(pki: ClusterPKI, server: _TLSServer) -> None:
    ctx = pki.client_ssl_context(pki.admin_cert_pem, pki.admin_key_pem)
    assert _roundtrip(server.port, ctx, server_hostname="127.0.0.1") == b"ping"
    assert _roundtrip(server.port, ctx, server_hostname="kubernetes.default.svc") == b"ping"
    with pytest.raises(ssl.SSLCertVerificationError):
        _roundtrip(server.port, ctx, server_hostname="not-in-the-cert.example")


def test_handshake_with_stdlib_client_context(pki: ClusterPKI, server: _TLSServer, tmp_path: Path) -> None:
    """The same as a user would do: ssl.create_default_context(cafile=...) + load_cert_chain from files."""
    pki.save(tmp_path / "pki")
    ctx = ssl.create_default_context(cafile=str(tmp_path / "pki" / "ca.crt"))
    ctx.load_cert_chain(str(tmp_path / "pki" / "admin.crt"), str(tmp_path / "pki" / "admin.key"))
    assert _roundtrip(server.port, ctx) == b"ping"


def test_issued_client_cert_identity(pki: ClusterPKI, server: _TLSServer) -> None:
    cert_pem, key_pem = pki.issue_client_cert("alice", ["team-a"])
    assert _roundtrip(server.port, pki.client_ssl_context(cert_pem, key_pem)) == b"ping"
    peer = server.results[-1]
    assert isinstance(peer, dict)
    assert ClusterPKI.identity_from_peercert(peer) == ("alice", ["team-a"])


def test_client_without_cert_connects(pki: ClusterPKI, server: _TLSServer) -> None:
    assert _roundtrip(server.port, pki.client_ssl_context()) == b"ping"
    peer = server.results[-1]
    assert peer == {}
    assert ClusterPKI.identity_from_peercert(peer) is None  # type: ignore[arg-type]


def test_cert_from_another_ca_is_rejected(pki: ClusterPKI, server: _TLSServer) -> None:
    other = ClusterPKI.generate()
    ctx = pki.client_ssl_context(other.admin_cert_pem, other.admin_key_pem)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        # TLS 1.3: the client learns about the rejection on its first read.
        _roundtrip(server.port, ctx)
    for _ in range(50):
        if server.results:
            break
        threading.Event().wait(0.05)
    assert isinstance(server.results[-1], ssl.SSLError)


def test_client_rejects_server_of_another_cluster(pki: ClusterPKI, server: _TLSServer) -> None:
    other = ClusterPKI.generate()
    with pytest.raises(ssl.SSLCertVerificationError):
        _roundtrip(server.port, other.client_ssl_context())


def test_server_context_settings(pki: ClusterPKI) -> None:
    ctx = pki.server_ssl_context()
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert len(ctx.get_ca_certs()) == 1


# ---------------------------------------------------------------------------- persistence


def test_save_and_load(pki: ClusterPKI, tmp_path: Path) -> None:
    d = tmp_path / "pki"
    pki.save(d)
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for name in ("ca.key", "apiserver.key", "admin.key"):
        assert stat.S_IMODE((d / name).stat().st_mode) == 0o600
    for name in ("ca.crt", "apiserver.crt", "admin.crt"):
        assert (d / name).read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    loaded = ClusterPKI.load(d)
    assert loaded == pki
    # The loaded CA can still sign.
    cert_pem, _ = loaded.issue_client_cert("bob", [])
    _cert(cert_pem).verify_directly_issued_by(_cert(pki.ca_cert_pem))
    assert not list(d.glob(".*tmp*"))


def test_default_clock_is_system_time() -> None:
    before = SystemClock().now()
    pki = ClusterPKI.generate()
    cert = _cert(pki.server_cert_pem)
    assert cert.not_valid_before_utc <= before
    assert cert.not_valid_after_utc > before
