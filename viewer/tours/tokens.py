"""Signed guide and resume tokens, short visitor codes (HMAC-SHA256, stdlib only) and `vitrina tour-token`."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urljoin

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: codes are read aloud and typed on phones
CODE_LENGTH = 6  # the signature part; a code is RUN_CHARS + CODE_LENGTH characters
RUN_CHARS = 3  # the hour the run ends, modulo len(CODE_ALPHABET) ** 3 hours (3.4 years)
MAX_RUN_HOURS = 7 * 24  # a code naming an hour further ahead than this is read as one that has already ended
GUIDE_HOURS = 8.0
RESUME_HOURS = 12.0
SECRET_ENV = "VITRINA_TOUR_SECRET"
MIN_SECRET_BYTES = 16


class TokenError(Exception):
    """A token that is malformed, forged, expired or for another purpose."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, purpose: str, payload_part: str) -> str:
    # The purpose is mixed in so a resume token can never pass as a guide token, or the other way round.
    return _b64(hmac.new(secret, f"{purpose}.{payload_part}".encode("ascii"), hashlib.sha256).digest())


def _mint(secret: bytes, purpose: str, payload: dict[str, Any]) -> str:
    payload_part = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload_part}.{_sign(secret, purpose, payload_part)}"


def _verify(secret: bytes, purpose: str, token: str, now: float | None) -> dict[str, Any]:
    payload_part, dot, signature = token.partition(".")
    if not dot or not payload_part or not signature:
        raise TokenError("malformed token")
    try:
        expected = _sign(secret, purpose, payload_part)
    except UnicodeEncodeError:
        raise TokenError("malformed token") from None
    # Bytes, not str: compare_digest raises TypeError on a non-ASCII str, which a forged token may well hold.
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "surrogatepass")):
        raise TokenError("bad signature")
    try:
        payload = json.loads(_unb64(payload_part))
    except ValueError:
        raise TokenError("malformed token") from None
    if not isinstance(payload, dict) or payload.get("v") != 1:
        raise TokenError("unsupported token version")
    expires = payload.get("exp")
    if not isinstance(expires, int | float) or expires < (time.time() if now is None else now):
        raise TokenError("token expired")
    return payload


@dataclass(frozen=True)
class GuideGrant:
    exhibit: str
    tour: str
    expires: float


@dataclass(frozen=True)
class ResumeGrant:
    exhibit: str
    tour: str
    member: str
    role: str
    name: str
    expires: float


def mint_guide_token(secret: bytes, exhibit: str, tour: str, hours: float = GUIDE_HOURS,
                     now: float | None = None) -> str:
    issued = time.time() if now is None else now
    payload = {"v": 1, "ex": exhibit, "tour": tour, "exp": int(issued + hours * 3600), "n": secrets.token_hex(4)}
    return _mint(secret, "guide", payload)


def verify_guide_token(secret: bytes, token: str, now: float | None = None) -> GuideGrant:
    payload = _verify(secret, "guide", token, now)
    exhibit, tour = payload.get("ex"), payload.get("tour")
    if not isinstance(exhibit, str) or not isinstance(tour, str):
        raise TokenError("malformed token")
    return GuideGrant(exhibit, tour, float(payload["exp"]))


def mint_resume_token(secret: bytes, grant: ResumeGrant) -> str:
    payload = {"v": 1, "ex": grant.exhibit, "tour": grant.tour, "m": grant.member, "role": grant.role,
               "name": grant.name, "exp": int(grant.expires)}
    return _mint(secret, "resume", payload)


def verify_resume_token(secret: bytes, token: str, now: float | None = None) -> ResumeGrant:
    payload = _verify(secret, "resume", token, now)
    fields = [payload.get(name) for name in ("ex", "tour", "m", "role", "name")]
    if not all(isinstance(value, str) for value in fields) or payload["role"] not in ("guide", "visitor"):
        raise TokenError("malformed token")
    exhibit, tour, member, role, name = (str(value) for value in fields)
    return ResumeGrant(exhibit, tour, member, role, name, float(payload["exp"]))


def _code_chars(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def _code_signature(secret: bytes, exhibit: str, tour: str, run_hour: int) -> str:
    digest = hmac.new(secret, f"code.{exhibit}/{tour}/{run_hour}".encode(), hashlib.sha256).digest()
    return _code_chars(int.from_bytes(digest[:8], "big"), CODE_LENGTH)


def visitor_code(secret: bytes, exhibit: str, tour: str, expires: float | None = None,
                 now: float | None = None) -> str:
    """The visitor code of one run of a tour: valid until `expires` (default: a guide token minted now), so a
    photographed code from last week's run opens nothing today. The first RUN_CHARS characters name the hour
    the run ends; the rest signs (tour, that hour)."""
    if expires is None:
        expires = (time.time() if now is None else now) + GUIDE_HOURS * 3600
    run_hour = math.ceil(expires / 3600)
    return _code_chars(run_hour % len(CODE_ALPHABET) ** RUN_CHARS, RUN_CHARS) + \
        _code_signature(secret, exhibit, tour, run_hour)


def code_run_hour(code: str, now: float) -> int | None:
    """The hour (since the epoch) at whose start the run a normalised code names ends; None when the code is
    malformed or its run is over."""
    if len(code) != RUN_CHARS + CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        return None
    tag = sum(CODE_ALPHABET.index(char) * len(CODE_ALPHABET) ** place for place, char in enumerate(code[:RUN_CHARS]))
    now_hour = math.ceil(now / 3600)
    run_hour = now_hour + (tag - now_hour) % len(CODE_ALPHABET) ** RUN_CHARS
    return run_hour if run_hour - now_hour <= MAX_RUN_HOURS else None


def code_signs(secret: bytes, code: str, exhibit: str, tour: str, run_hour: int) -> bool:
    return hmac.compare_digest(code[RUN_CHARS:].encode(), _code_signature(secret, exhibit, tour, run_hour).encode())


def normalise_code(raw: str) -> str:
    return "".join(char for char in raw.upper() if char not in " -_")


def load_secret(secret_file: str | None) -> bytes | None:
    """The signing secret from a file (stripped) or $VITRINA_TOUR_SECRET; None when neither is set."""
    if secret_file:
        secret = Path(secret_file).read_bytes().strip()
    else:
        secret = os.environ.get(SECRET_ENV, "").strip().encode()
    if not secret:
        return None
    if len(secret) < MIN_SECRET_BYTES:
        raise TokenError(f"the tour secret must be at least {MIN_SECRET_BYTES} bytes")
    return secret


def tour_links(base_url: str, exhibit: str, tour: str, token: str, code: str) -> tuple[str, str]:
    """(guide link, visitor link): the guide token rides in the fragment, which browsers never send to a server."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    page = urljoin(base, quote(exhibit) + "/")
    return f"{page}?tour={quote(tour)}#guide={token}", f"{page}?join={code}"


def _tour_exists(site: Path, exhibit: str, tour: str) -> str | None:
    """None when the site has this tour, else a message saying what is wrong."""
    manifest = site / exhibit / "exhibit.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{manifest} not found: build the exhibit into {site} first"
    except ValueError as error:
        return f"{manifest} is not valid JSON: {error}"
    known = [entry.get("id") for entry in data.get("tours", []) if isinstance(entry, dict)]
    if tour not in known:
        return f"exhibit {exhibit!r} has no tour {tour!r} (tours: {', '.join(map(str, known)) or 'none'})"
    return None


def write_qr(link: str, path: Path) -> None:
    try:
        import segno
    except ModuleNotFoundError:
        raise SystemExit("QR codes need segno: pip install vitrina[qr]") from None
    segno.make(link, error="m").save(str(path), scale=8, border=4)


def print_terminal_qr(link: str, out: TextIO) -> None:
    """The link as a QR code drawn in the terminal (for `vitrina serve --lan`); a hint instead without segno."""
    try:
        import segno
    except ModuleNotFoundError:
        print("(a QR code of this link needs segno: pip install vitrina[qr])", file=out)
        return
    segno.make(link, error="m").terminal(out=out, compact=True)
    out.flush()


def main_from_args(args: argparse.Namespace) -> int:
    """`vitrina tour-token`: print the guide and visitor links for one tour (and write the visitor QR code)."""
    if args.qr:
        # Fail before doing anything else when the optional extra is missing.
        try:
            import segno  # noqa: F401
        except ModuleNotFoundError:
            print("QR codes need segno: pip install vitrina[qr]", file=sys.stderr)
            return 2
    try:
        secret = load_secret(args.secret_file)
    except (OSError, TokenError) as error:
        print(f"cannot read the tour secret: {error}", file=sys.stderr)
        return 2
    if secret is None:
        print(f"no tour secret: pass --secret-file FILE or set {SECRET_ENV} (the tour server must use the same)",
              file=sys.stderr)
        return 2
    if args.hours > MAX_RUN_HOURS:
        print(f"--hours may be at most {MAX_RUN_HOURS}: a visitor code names a run of at most a week", file=sys.stderr)
        return 2
    problem = _tour_exists(Path(args.site), args.exhibit, args.tour)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    token = mint_guide_token(secret, args.exhibit, args.tour, hours=args.hours)
    code = visitor_code(secret, args.exhibit, args.tour, verify_guide_token(secret, token).expires)
    guide_link, visitor_link = tour_links(args.base_url, args.exhibit, args.tour, token, code)
    print(f"guide link (keep it private; valid {args.hours:g} h): {guide_link}")
    print(f"visitor link: {visitor_link}")
    print(f"visitor code: {code} (this run only: it stops working when the guide link expires)")
    if args.qr:
        write_qr(visitor_link, Path(args.qr))
        print(f"QR code of the visitor link: {args.qr}")
    return 0
