"""Guide and resume tokens, visitor codes, and `vitrina tour-token` output (links, code, QR file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.cli import main as vitrina
from tests.viewer.tours.conftest import EXHIBIT, SECRET, TOUR, write_site
from viewer.tours import tokens


def test_guide_token_round_trip_and_refusals() -> None:
    token = tokens.mint_guide_token(SECRET, EXHIBIT, TOUR, hours=1, now=1000.0)
    grant = tokens.verify_guide_token(SECRET, token, now=1000.0)
    assert (grant.exhibit, grant.tour, grant.expires) == (EXHIBIT, TOUR, 4600.0)
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.verify_guide_token(SECRET, token, now=4601.0)
    with pytest.raises(tokens.TokenError, match="bad signature"):
        tokens.verify_guide_token(b"another-secret-0123456789", token, now=1000.0)
    payload, _, signature = token.partition(".")
    forged = tokens._b64(tokens._unb64(payload).replace(TOUR.encode(), b"other")) + "." + signature
    with pytest.raises(tokens.TokenError, match="bad signature"):
        tokens.verify_guide_token(SECRET, forged, now=1000.0)
    for junk in ("", "abc", ".", "é.é", "a.b.c"):
        with pytest.raises(tokens.TokenError):
            tokens.verify_guide_token(SECRET, junk)


def test_a_resume_token_is_not_a_guide_token() -> None:
    grant = tokens.ResumeGrant(EXHIBIT, TOUR, "m1", "visitor", "Ana", 2e9)
    resume = tokens.mint_resume_token(SECRET, grant)
    assert tokens.verify_resume_token(SECRET, resume) == grant
    with pytest.raises(tokens.TokenError, match="bad signature"):
        tokens.verify_guide_token(SECRET, resume)


def test_visitor_codes_are_short_stable_secret_dependent_and_forgiving() -> None:
    code = tokens.visitor_code(SECRET, EXHIBIT, TOUR)
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}", code)
    assert code == tokens.visitor_code(SECRET, EXHIBIT, TOUR)
    assert code != tokens.visitor_code(SECRET, EXHIBIT, "short")
    assert code != tokens.visitor_code(b"another-secret-0123456789", EXHIBIT, TOUR)
    assert tokens.normalise_code(f" {code[:3].lower()}-{code[3:]} ") == code


def test_tour_token_prints_links_and_writes_a_qr_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path / "site")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET + b"\n")
    qr = tmp_path / "visitor.svg"
    status = vitrina(["tour-token", "--site", str(site), "--exhibit", EXHIBIT, "--tour", TOUR,
                      "--secret-file", str(secret_file), "--base-url", "https://museum.example/site", "--qr", str(qr)])
    out = capsys.readouterr().out
    assert status == 0
    guide_link = re.search(r"guide link .*: (\S+)", out)
    assert guide_link is not None
    prefix = f"https://museum.example/site/{EXHIBIT}/?tour={TOUR}#guide="
    assert guide_link.group(1).startswith(prefix)
    grant = tokens.verify_guide_token(SECRET, guide_link.group(1)[len(prefix):])
    assert (grant.exhibit, grant.tour) == (EXHIBIT, TOUR)
    code = tokens.visitor_code(SECRET, EXHIBIT, TOUR)
    assert f"visitor link: https://museum.example/site/{EXHIBIT}/?join={code}" in out
    assert qr.read_text().lstrip().startswith("<?xml") and "<svg" in qr.read_text()


def test_tour_token_refuses_unknown_tours_and_missing_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    site = write_site(tmp_path / "site")
    monkeypatch.delenv(tokens.SECRET_ENV, raising=False)
    assert vitrina(["tour-token", "--site", str(site), "--exhibit", EXHIBIT, "--tour", TOUR]) == 2
    assert "no tour secret" in capsys.readouterr().err
    monkeypatch.setenv(tokens.SECRET_ENV, SECRET.decode())
    assert vitrina(["tour-token", "--site", str(site), "--exhibit", EXHIBIT, "--tour", "nope"]) == 2
    assert "has no tour 'nope' (tours: highlights, short)" in capsys.readouterr().err


def test_tour_server_refuses_to_start_without_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    site = write_site(tmp_path / "site")
    monkeypatch.delenv(tokens.SECRET_ENV, raising=False)
    assert vitrina(["tour-server", "--site", str(site), "--port", "0"]) == 2
    assert "no tour secret: pass --secret-file FILE or set VITRINA_TOUR_SECRET" in capsys.readouterr().err
    short = tmp_path / "short"
    short.write_text("too short")
    assert vitrina(["tour-server", "--site", str(site), "--port", "0", "--secret-file", str(short)]) == 2
    assert "at least 16 bytes" in capsys.readouterr().err


def test_terminal_qr_code_draws_the_link_for_serve_lan() -> None:
    """`vitrina serve --lan` prints the link as a QR code in the terminal (a square of half-block characters)."""
    import io

    segno = pytest.importorskip("segno")
    out = io.StringIO()
    tokens.print_terminal_qr("https://192.168.1.20:8000/", out)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    expected = segno.make("https://192.168.1.20:8000/", error="m")
    width = expected.symbol_size(scale=1, border=4)[0]
    assert len(lines) == (width + 1) // 2, "two modules per line (compact)"
    assert all(len(line) == width for line in lines) and "▄" in out.getvalue()
