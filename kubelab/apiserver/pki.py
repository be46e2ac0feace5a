"""The cluster's public-key infrastructure: a CA, the API server's serving certificate, client certificates.

Mirrors what kubeadm creates under /etc/kubernetes/pki in miniature: a self-signed CA named ``kubernetes``, a
serving certificate for the API server whose SANs cover every name a client may use for it (``localhost``, the
in-cluster ``kubernetes.default.svc...`` names, 127.0.0.1 and the first service IP 10.96.0.1), and an admin
client certificate with ``CN=kubernetes-admin, O=system:masters``. As in Kubernetes' x509 authenticator, a
client certificate's Common Name is the user name and its Organization entries are the groups.

Keys are EC P-256: fast to generate (a cluster is created in well under a second) and accepted by kubectl
(Go's crypto/tls) and by the official Python client (OpenSSL).

Time comes from an injected ``Clock``: ``notBefore`` is a minute in the past (tolerates small clock skew
between client and server), ``notAfter`` is 10 years later for the CA and 1 year later for leaf certificates,
as kubeadm does.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import shutil
import ssl
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubelab.clock import Clock, SystemClock

CA_COMMON_NAME = "kubernetes"
SERVER_COMMON_NAME = "kube-apiserver"
ADMIN_USER = "kubernetes-admin"
ADMIN_GROUPS: tuple[str, ...] = ("system:masters",)
SERVICE_IP = "10.96.0.1"
DEFAULT_DNS_NAMES: tuple[str, ...] = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
DEFAULT_IPS: tuple[str, ...] = ("127.0.0.1", SERVICE_IP)

CA_VALIDITY = _dt.timedelta(days=3650)
LEAF_VALIDITY = _dt.timedelta(days=365)
BACKDATE = _dt.timedelta(minutes=1)

# File names used by save()/load(), after kubeadm's /etc/kubernetes/pki layout.
_FILES = {
    "ca_cert_pem": "ca.crt",
    "ca_key_pem": "ca.key",
    "server_cert_pem": "apiserver.crt",
    "server_key_pem": "apiserver.key",
    "admin_cert_pem": "admin.crt",
    "admin_key_pem": "admin.key",
}
_PRIVATE = {"ca_key_pem", "server_key_pem", "admin_key_pem"}


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, organizations: Iterable[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def _san_entries(hosts: Iterable[str]) -> list[x509.GeneralName]:
    """Turn host strings into SAN entries: IP literals become IPAddress, everything else DNSName (deduped)."""
    seen: set[str] = set()
    out: list[x509.GeneralName] = []
    for host in hosts:
        host = host.strip()
        if not host or host in seen:
            continue
        seen.add(host)
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            out.append(x509.DNSName(host))
    return out


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
    )


@dataclass(frozen=True)
class ClusterPKI:
    """PEM-encoded CA, API server and admin credentials of one cluster."""

    ca_cert_pem: bytes
    ca_key_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes
    admin_cert_pem: bytes
    admin_key_pem: bytes

    # ------------------------------------------------------------------ creation

    @classmethod
    def generate(cls, extra_hosts: Iterable[str] = (), clock: Clock | None = None) -> ClusterPKI:
        """Create a new CA, a serving certificate (default SANs + ``extra_hosts``) and the admin cert."""
        clock = clock or SystemClock()
        now = clock.now()
        ca_key = _new_key()
        ca_name = _name(CA_COMMON_NAME)
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                    encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ca_ski, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        ca_cert_pem = _cert_pem(ca_cert)
        ca_key_pem = _key_pem(ca_key)

        server_key = _new_key()
        hosts = [*DEFAULT_DNS_NAMES, *DEFAULT_IPS, *extra_hosts]
        server_cert = cls._sign_leaf(
            ca_cert, ca_key, server_key, _name(SERVER_COMMON_NAME), ExtendedKeyUsageOID.SERVER_AUTH, now,
            san=_san_entries(hosts),
        )
        admin_key = _new_key()
        admin_cert = cls._sign_leaf(
            ca_cert, ca_key, admin_key, _name(ADMIN_USER, ADMIN_GROUPS), ExtendedKeyUsageOID.CLIENT_AUTH, now,
        )
        return cls(
            ca_cert_pem=ca_cert_pem,
            ca_key_pem=ca_key_pem,
            server_cert_pem=_cert_pem(server_cert),
            server_key_pem=_key_pem(server_key),
            admin_cert_pem=_cert_pem(admin_cert),
            admin_key_pem=_key_pem(admin_key),
        )

    @staticmethod
    def _sign_leaf(
        ca_cert: x509.Certificate,
        ca_key: ec.EllipticCurvePrivateKey,
        key: ec.EllipticCurvePrivateKey,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        now: _dt.datetime,
        san: Sequence[x509.GeneralName] = (),
    ) -> x509.Certificate:
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + LEAF_VALIDITY, ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_leaf_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(san)), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    def issue_client_cert(
        self, common_name: str, groups: Iterable[str] = (), clock: Clock | None = None
    ) -> tuple[bytes, bytes]:
        """Sign a client certificate for user ``common_name`` in ``groups``: ``(cert_pem, key_pem)``."""
        if not common_name:
            raise ValueError("common_name must not be empty")
        now = (clock or SystemClock()).now()
        ca_cert = x509.load_pem_x509_certificate(self.ca_cert_pem)
        ca_key = serialization.load_pem_private_key(self.ca_key_pem, password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise TypeError("the CA key is not an EC key")
        key = _new_key()
        cert = self._sign_leaf(
            ca_cert, ca_key, key, _name(common_name, groups), ExtendedKeyUsageOID.CLIENT_AUTH, now
        )
        return _cert_pem(cert), _key_pem(key)

    # ------------------------------------------------------------------ TLS

    def server_ssl_context(self, alpn: Sequence[str] | None = ("http/1.1",)) -> ssl.SSLContext:
        """A TLS server context for the API server.

        The serving certificate and key are loaded, the cluster CA is the trust anchor for client
        certificates, and ``verify_mode`` is ``CERT_OPTIONAL``: clients without a certificate (bearer-token
        auth) connect, while a presented certificate must chain to the CA or the handshake fails. TLS 1.2 is
        the minimum. ALPN advertises ``http/1.1`` only (so kubectl does not try HTTP/2); pass ``alpn=None`` to
        skip.
        """
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        _load_cert_chain(ctx, self.server_cert_pem, self.server_key_pem)
        ctx.load_verify_locations(cadata=self.ca_cert_pem.decode("ascii"))
        ctx.verify_mode = ssl.CERT_OPTIONAL
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx

    def client_ssl_context(
        self, cert_pem: bytes | None = None, key_pem: bytes | None = None
    ) -> ssl.SSLContext:
        """A TLS client context trusting the cluster CA, optionally presenting a client certificate."""
        ctx = ssl.create_default_context(cadata=self.ca_cert_pem.decode("ascii"))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert_pem is not None:
            if key_pem is None:
                raise ValueError("key_pem is required with cert_pem")
            _load_cert_chain(ctx, cert_pem, key_pem)
        return ctx

    @staticmethod
    def identity_from_peercert(peercert: dict[str, Any] | None) -> tuple[str, list[str]] | None:
        """``(user, groups)`` from ``SSLSocket.getpeercert()``: the subject's CN and its O entries.

        Returns ``None`` when no (verified) certificate was presented or it has no Common Name.
        """
        if not peercert:
            return None
        common_name: str | None = None
        groups: list[str] = []
        for rdn in peercert.get("subject", ()):
            for attr in rdn:
                if len(attr) != 2:
                    continue
                key, value = attr
                if key == "commonName" and common_name is None:
                    common_name = value
                elif key == "organizationName":
                    groups.append(value)
        if not common_name:
            return None
        return common_name, groups

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write the PEM files (kubeadm names) into ``directory`` (created 0700); private keys are 0600."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
        for attr, filename in _FILES.items():
            mode = 0o600 if attr in _PRIVATE else 0o644
            _write_file(path / filename, getattr(self, attr), mode)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> ClusterPKI:
        """Read the PEM files written by :meth:`save`."""
        path = Path(directory)
        values = {attr: (path / filename).read_bytes() for attr, filename in _FILES.items()}
        return cls(**values)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` with ``mode`` from the first byte on (no window with looser permissions)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _load_cert_chain(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    """``ctx.load_cert_chain`` from memory.

    Python's ssl module only loads certificate chains from files. On Linux the PEMs go into anonymous
    in-memory files (memfd) read through /proc/self/fd; elsewhere into a private 0700 temporary directory that
    is removed right after loading.
    """
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None and os.path.isdir("/proc/self/fd"):
        fds: list[int] = []
        try:
            for data in (cert_pem, key_pem):
                fd = memfd_create("kubelab-pem", getattr(os, "MFD_CLOEXEC", 0))
                fds.append(fd)
                os.write(fd, data)
            ctx.load_cert_chain(f"/proc/self/fd/{fds[0]}", f"/proc/self/fd/{fds[1]}")
            return
        except OSError:
            pass  # fall back to the temporary directory below
        finally:
            for fd in fds:
                os.close(fd)
    tmpdir = tempfile.mkdtemp(prefix="kubelab-pki-")  # created 0700
    try:
        cert_path = Path(tmpdir) / "tls.crt"
        key_path = Path(tmpdir) / "tls.key"
        _write_file(cert_path, cert_pem, 0o600)
        _write_file(key_path, key_pem, 0o600)
        ctx.load_cert_chain(str(cert_path), str(key_path))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
