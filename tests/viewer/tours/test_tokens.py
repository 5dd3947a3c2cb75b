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
    ends = 1_800_000_000.0
    code = tokens.visitor_code(SECRET, EXHIBIT, TOUR, ends)
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{9}", code)
    assert code == tokens.visitor_code(SECRET, EXHIBIT, TOUR, ends)
    assert code != tokens.visitor_code(SECRET, EXHIBIT, "short", ends)
    assert code != tokens.visitor_code(b"another-secret-0123456789", EXHIBIT, TOUR, ends)
    assert tokens.normalise_code(f" {code[:3].lower()}-{code[3:]} ") == code


def test_a_visitor_code_names_its_run_and_opens_nothing_once_the_run_is_over() -> None:
    """A photographed QR code from last week's run must not open today's."""
    now = 1_800_000_000.0
    last_week = tokens.visitor_code(SECRET, EXHIBIT, TOUR, now - 7 * 86400 + 8 * 3600)
    today = tokens.visitor_code(SECRET, EXHIBIT, TOUR, now + 8 * 3600)
    assert last_week[3:] != today[3:]
    run_hour = tokens.code_run_hour(today, now)
    assert run_hour is not None and run_hour * 3600 >= now + 8 * 3600 > (run_hour - 1) * 3600
    assert tokens.code_signs(SECRET, today, EXHIBIT, TOUR, run_hour)
    assert not tokens.code_signs(SECRET, today, EXHIBIT, "short", run_hour)
    assert tokens.code_run_hour(last_week, now) is None
    assert tokens.code_run_hour(today, now + 8 * 3600) == run_hour  # still valid in its last hour
    assert tokens.code_run_hour(today, run_hour * 3600 + 1) is None  # and over one second after it
    assert tokens.code_run_hour(today[:-1], now) is None and tokens.code_run_hour("0" * 9, now) is None


def test_a_non_ascii_signature_is_refused_not_a_crash() -> None:
    token = tokens.mint_guide_token(SECRET, EXHIBIT, TOUR)
    payload, _, signature = token.partition(".")
    with pytest.raises(tokens.TokenError, match="bad signature"):
        tokens.verify_guide_token(SECRET, f"{payload}.{signature[:-1]}é")


def test_a_resume_token_must_name_a_known_role() -> None:
    for role in ("admin", "guide "):
        forged = tokens._mint(SECRET, "resume", {"v": 1, "ex": EXHIBIT, "tour": TOUR, "m": "m1", "role": role,
                                                 "name": "Ana", "exp": 2_000_000_000})
        with pytest.raises(tokens.TokenError, match="malformed token"):
            tokens.verify_resume_token(SECRET, forged)


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
    code = tokens.visitor_code(SECRET, EXHIBIT, TOUR, grant.expires)  # this run's code: it ends with the link
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


def test_tour_server_flags_set_its_limits_and_a_missing_site_is_refused(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.cli import build_parser
    from viewer.tours.server import Limits, limits_from_args

    args = build_parser().parse_args(["tour-server", "--site", str(tmp_path), "--room-cap", "30", "--grace", "5",
                                      "--source-connections", "7", "--source-members", "3"])
    chosen = limits_from_args(args)
    assert (chosen.room_cap, chosen.grace_s, chosen.source_connections, chosen.source_members) == (30, 5.0, 7, 3)
    assert limits_from_args(build_parser().parse_args(["tour-server", "--site", str(tmp_path)])) == Limits()
    assert vitrina(["tour-server", "--site", str(tmp_path / "nope"), "--port", "0"]) == 2
    assert f"site folder {tmp_path / 'nope'} does not exist: build an exhibit first" in capsys.readouterr().err


def test_links_join_a_base_with_or_without_its_slash() -> None:
    for base in ("https://museum.example/site", "https://museum.example/site/"):
        guide, visitor = tokens.tour_links(base, EXHIBIT, "hall tour", "TOKEN", "ABC")
        assert guide == f"https://museum.example/site/{EXHIBIT}/?tour=hall%20tour#guide=TOKEN"
        assert visitor == f"https://museum.example/site/{EXHIBIT}/?join=ABC"


def test_the_qr_code_is_medium_error_correction_scale_8_with_a_4_module_border(tmp_path: Path) -> None:
    import segno

    link = "https://museum.example/site/bronze-age/?join=X4PK7M2QX"
    tokens.write_qr(link, tmp_path / "qr.svg")
    svg = (tmp_path / "qr.svg").read_text()
    width, height = segno.make(link, error="m").symbol_size(scale=8, border=4)
    assert f'width="{width}"' in svg and f'height="{height}"' in svg


def test_tour_token_hours_are_at_most_a_week_and_an_unreadable_secret_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = write_site(tmp_path / "site")
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    command = ["tour-token", "--site", str(site), "--exhibit", EXHIBIT, "--tour", TOUR, "--secret-file",
               str(secret_file)]
    assert vitrina([*command, "--hours", "168"]) == 0  # exactly at the limit
    assert "visitor code: " in capsys.readouterr().out
    assert vitrina([*command, "--hours", "169"]) == 2  # one past it
    assert "--hours may be at most 168: a visitor code names a run of at most a week" in capsys.readouterr().err
    command[-1] = str(tmp_path / "missing")
    assert vitrina(command) == 2
    assert "cannot read the tour secret: " in capsys.readouterr().err


def test_resume_tokens_expire_at_the_time_given_and_secrets_need_16_bytes(tmp_path: Path) -> None:
    grant = tokens.ResumeGrant(EXHIBIT, TOUR, "m1", "visitor", "Ana", 2_000_000_000)
    resume = tokens.mint_resume_token(SECRET, grant)
    assert tokens.verify_resume_token(SECRET, resume, now=2_000_000_000) == grant  # its last second
    with pytest.raises(tokens.TokenError, match="token expired"):
        tokens.verify_resume_token(SECRET, resume, now=2_000_000_001)
    exactly = tmp_path / "secret16"
    exactly.write_bytes(b"0123456789abcdef\n")
    assert tokens.load_secret(str(exactly)) == b"0123456789abcdef"
    exactly.write_bytes(b"0123456789abcde\n")
    with pytest.raises(tokens.TokenError, match="at least 16 bytes"):
        tokens.load_secret(str(exactly))


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
