"""HTTPS for `vitrina serve --lan` (the only cryptography and psutil importer): a local CA in the user's config folder, a server certificate per run, and the LAN addresses."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import psutil
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONFIG_ENV = "VITRINA_CONFIG_DIR"
CA_CERT = "vitrina-local-ca.pem"
CA_KEY = "vitrina-local-ca.key"
SERVER_CERT = "vitrina-serve.pem"
SERVER_KEY = "vitrina-serve.key"
CA_DAYS = 3650
# Apple and Chrome refuse server certificates valid for more than 398 days; a preview needs far less.
SERVER_DAYS = 30

Clock = Callable[[], datetime.datetime]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def config_dir() -> Path:
    """The user's Vitrina config folder: $VITRINA_CONFIG_DIR, else $XDG_CONFIG_HOME/vitrina, else ~/.config/vitrina.

    The CA lives here and never in an exhibit folder, which may be shared or published.
    """
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vitrina"


# Interfaces that lead to containers or virtual machines on this computer, never to a headset on the LAN.
VIRTUAL_INTERFACE_PREFIXES = ("docker", "br-", "veth", "virbr", "vnet", "vmnet", "cni", "flannel", "podman",
                              "lxcbr", "lxdbr", "tailscale", "zt", "utun", "awdl", "llw", "bridge100")

Interfaces = Mapping[str, Iterable[str]]
"""Interface name → its IPv4 addresses (psutil's view of the machine, or a test's)."""


def interface_addresses() -> dict[str, list[str]]:
    """Every interface that is up, with its IPv4 addresses."""
    stats = psutil.net_if_stats()
    return {name: [entry.address for entry in entries if entry.family == socket.AF_INET]
            for name, entries in psutil.net_if_addrs().items() if name in stats and stats[name].isup}


def default_route_address() -> str | None:
    """The IPv4 address the default route leaves by, or None when offline.

    Connecting a UDP socket sends nothing: it only asks the kernel which interface the route would use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): never a real peer
            return str(probe.getsockname()[0])
        except OSError:
            return None


def _reachable_from_lan(interface: str, address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return False
    return not interface.lower().startswith(VIRTUAL_INTERFACE_PREFIXES)


def lan_addresses(interfaces: Interfaces | None = None, preferred: str | None = None) -> list[str]:
    """Every IPv4 address other devices on the LAN may reach this machine by, `preferred` (the default route's) first.

    Loopback, link-local (169.254.x.x, what a cable without DHCP gets) and container or VM bridges are left out.
    IPv4 only: `serve --lan` binds 0.0.0.0, which does not answer on IPv6.
    """
    if interfaces is None:
        interfaces, preferred = interface_addresses(), default_route_address()
    found = [address for name, addresses in interfaces.items() for address in addresses
             if _reachable_from_lan(name, address)]
    if preferred in found:
        found.remove(preferred)
        found.insert(0, preferred)
    return list(dict.fromkeys(found))


def choose_address(wanted: str, interfaces: Interfaces | None = None) -> str:
    """`serve --lan --host ADDRESS`: the address when it is one of this machine's IPv4 addresses, else ValueError."""
    interfaces = interface_addresses() if interfaces is None else interfaces
    mine = [address for addresses in interfaces.values() for address in addresses]
    try:
        ip = ipaddress.ip_address(wanted)
    except ValueError:
        raise ValueError(f"{wanted} is not an IP address; this machine has {', '.join(mine)}") from None
    if ip.version != 4 or str(ip) not in mine:
        raise ValueError(f"{wanted} is not an IPv4 address of this machine; it has {', '.join(mine)}")
    return str(ip)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vitrina local preview"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def ensure_ca(folder: Path, clock: Clock = _now) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey, Path]:
    """The local CA, created on first use (and again when expired); the key is readable by the user only."""
    cert_file, key_file = folder / CA_CERT, folder / CA_KEY
    now = clock()
    if cert_file.is_file() and key_file.is_file():
        certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        fresh = certificate.not_valid_after_utc > now + datetime.timedelta(days=SERVER_DAYS)
        if fresh and isinstance(key, ec.EllipticCurvePrivateKey):
            return certificate, key, cert_file
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"Vitrina local CA ({socket.gethostname()})")
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return certificate, key, cert_file


def issue_server_certificate(folder: Path, hosts: Sequence[str], clock: Clock = _now) -> tuple[Path, Path, Path]:
    """A server certificate signed by the local CA for these IP addresses and names (and localhost).

    Returns (certificate chain, key, CA certificate) paths. A new one per run, so a changed LAN address is covered.
    """
    ca_cert, ca_key, ca_file = ensure_ca(folder, clock)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = clock()
    certificate = (
        x509.CertificateBuilder().subject_name(_name(hosts[0] if hosts else "localhost"))
        .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = folder / SERVER_CERT, folder / SERVER_KEY
    _write_private(key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM)
                          + ca_cert.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file, ca_file


def server_tls(folder: Path, hosts: Sequence[str], clock: Clock = _now) -> tuple[ssl.SSLContext, Path]:
    """An SSLContext serving a fresh certificate for `hosts`, and the CA certificate devices must trust."""
    cert_file, key_file, ca_file = issue_server_certificate(folder, hosts, clock)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context, ca_file
