"""The local CA and server certificates of `serve --lan`: kept in the config folder, private keys private, reused."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import stat
from pathlib import Path

from cryptography import x509

from pipeline import lan
from pipeline.preview import StaticSite, serving


def _certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_the_ca_is_made_once_with_a_private_key_and_reused(tmp_path: Path) -> None:
    first_cert, _, ca_file = lan.ensure_ca(tmp_path)
    assert stat.S_IMODE((tmp_path / lan.CA_KEY).stat().st_mode) == 0o600
    again, _, _ = lan.ensure_ca(tmp_path)
    assert again.serial_number == first_cert.serial_number
    assert again.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_ca_about_to_expire_is_replaced(tmp_path: Path) -> None:
    made, _, _ = lan.ensure_ca(tmp_path)
    later = made.not_valid_after_utc - datetime.timedelta(days=lan.SERVER_DAYS - 1)
    replaced, _, _ = lan.ensure_ca(tmp_path, clock=lambda: later)
    assert replaced.serial_number != made.serial_number


def test_the_server_certificate_names_every_address_and_chains_to_the_ca(tmp_path: Path) -> None:
    cert_file, key_file, ca_file = lan.issue_server_certificate(tmp_path, ["192.168.1.20", "127.0.0.1", "quest.local"])
    leaf, ca = _certificates(cert_file)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("192.168.1.20"),
                                                              ipaddress.ip_address("127.0.0.1")}
    assert set(names.get_values_for_type(x509.DNSName)) == {"localhost", "quest.local"}
    assert leaf.issuer == ca.subject == _certificates(ca_file)[0].subject
    leaf.verify_directly_issued_by(ca)
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days <= 398, "browsers refuse longer ones"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_config_dir_is_the_users_never_the_exhibit(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(lan.CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert lan.config_dir() == tmp_path / "xdg" / "vitrina"
    monkeypatch.setenv(lan.CONFIG_ENV, str(tmp_path / "explicit"))
    assert lan.config_dir() == tmp_path / "explicit"


def test_the_plain_preview_server_speaks_https_too(tmp_path: Path) -> None:
    """`serve --edit --lan` has no tour server: the threaded http.server wraps its socket itself."""
    import urllib.request

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>secure</p>")
    tls, ca_file = lan.server_tls(tmp_path / "config", ["127.0.0.1"])
    with serving(StaticSite(tmp_path / "site"), tls=tls) as base:
        assert base.startswith("https://127.0.0.1:")
        context = ssl.create_default_context(cafile=str(ca_file))
        with urllib.request.urlopen(f"{base}/", context=context, timeout=10) as response:
            assert response.read() == b"<p>secure</p>"


# A laptop on Ethernet and Wi-Fi, with Docker, a VM bridge and a cable without DHCP (link-local).
MACHINE = {"lo": ["127.0.0.1"], "eth0": ["10.0.0.5"], "wlan0": ["192.168.1.20", "169.254.7.7"],
           "docker0": ["172.17.0.1"], "br-3f2a": ["172.18.0.1"], "virbr0": ["192.168.122.1"], "en7": ["169.254.1.2"]}


def test_every_lan_address_is_listed_the_default_routes_first() -> None:
    assert lan.lan_addresses(MACHINE, preferred="192.168.1.20") == ["192.168.1.20", "10.0.0.5"]
    assert lan.lan_addresses(MACHINE, preferred=None) == ["10.0.0.5", "192.168.1.20"]


def test_loopback_link_local_and_container_bridges_are_not_lan_addresses() -> None:
    assert lan.lan_addresses({"lo": ["127.0.0.1"], "docker0": ["172.17.0.1"], "eth1": ["169.254.3.3"]}) == []


def test_the_machines_own_interfaces_are_read_without_error() -> None:
    addresses = lan.lan_addresses()
    assert all(not ipaddress.ip_address(a).is_loopback and ipaddress.ip_address(a).version == 4 for a in addresses)


def test_one_address_can_be_chosen_only_among_this_machines() -> None:
    assert lan.choose_address("10.0.0.5", MACHINE) == "10.0.0.5"
    for wrong in ("10.0.0.6", "quest.local", "::1"):
        try:
            lan.choose_address(wrong, MACHINE)
        except ValueError as error:
            assert "10.0.0.5" in str(error), "the message lists the addresses there are"
        else:
            raise AssertionError(f"{wrong} was accepted")


def test_the_certificate_covers_every_lan_address_and_loopback(tmp_path: Path) -> None:
    hosts = [*lan.lan_addresses(MACHINE, preferred=None), "127.0.0.1"]
    cert_file, _, _ = lan.issue_server_certificate(tmp_path, hosts)
    names = _certificates(cert_file)[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"10.0.0.5", "192.168.1.20", "127.0.0.1"}
