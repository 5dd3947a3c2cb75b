"""Thin command line: parses arguments, calls the library, maps known errors to messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.errors import VitrinaError

# Each command's handler only translates arguments into one library call. The modules are imported lazily
# so `vitrina check` does not pay for trimesh, and so a missing optional extra fails with a clear message.


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.spec.check import check

    return check(Path(args.spec), strict=args.strict, out=sys.stdout)


def cmd_build(args: argparse.Namespace) -> int:
    from pipeline.build import BuildOptions, build

    report = build(Path(args.spec), Path(args.out), BuildOptions.from_args(args))
    print(report.to_text())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline import preview
    from pipeline.build import BuildOptions, build

    spec = Path(args.spec)
    options = BuildOptions(quiet=True)

    def builder(out_dir: Path) -> object:
        return build(spec, out_dir, options)

    tours = None
    if not args.no_tours:
        try:
            import secrets

            from viewer.tours.server import serve_tours
        except ImportError as error:  # the static preview still works without the tour server
            print(f"live tours unavailable ({error}); serving the site only", file=sys.stderr)
        else:
            # A fresh secret per run: guide links minted for a real deployment never work against a preview.
            secret = secrets.token_bytes(32)

            async def tours(site_dir: Path, host: str, port: int, **kwargs: object) -> None:
                await serve_tours(site_dir, host, port, secret=secret, links_log=sys.stderr, **kwargs)  # type: ignore[arg-type]

    watched = spec if spec.is_dir() else spec.parent
    return preview.run(builder, watched, host=args.host, port=args.port, out=Path(args.out) if args.out else None,
                       watch=not args.no_watch, tours=tours)


def cmd_tour_server(args: argparse.Namespace) -> int:
    from viewer.tours.server import run_from_args

    return run_from_args(args)


def cmd_tour_token(args: argparse.Namespace) -> int:
    from viewer.tours.tokens import main_from_args

    return main_from_args(args)


def cmd_schema(args: argparse.Namespace) -> int:
    from pipeline.spec.reference import schema_text

    text = schema_text()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from pipeline.spec.starter import create_starter

    folder = create_starter(Path(args.name))
    print(f"created {folder}; try: vitrina check {folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitrina", description="Build immersive museum exhibitions.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check an exhibit spec and report every problem at once")
    p.add_argument("spec", help="exhibit folder or exhibit.yaml")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("build", help="compile an exhibit into glTF scenes and a static WebXR site")
    p.add_argument("spec", help="exhibit folder or exhibit.yaml")
    p.add_argument("-o", "--out", default="site", help="output folder (replaced atomically)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--no-cache", action="store_true", help="reprocess every asset")
    p.add_argument("--cache-dir", default=None, help="asset cache folder (default .vitrina-cache beside the spec)")
    p.add_argument("--jobs", type=int, default=0, help="parallel asset jobs (default: number of cores)")
    p.add_argument("--draco", action="store_true", help="Draco geometry instead of meshopt (slower to decode)")
    p.add_argument("--texture-format", choices=["keep", "webp", "ktx2"], default="keep")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("serve", help="build, serve on 127.0.0.1, watch and live-reload (with live tours)")
    p.add_argument("spec", help="exhibit folder or exhibit.yaml")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("-o", "--out", default=None, help="output folder (default: a temporary folder)")
    p.add_argument("--no-watch", action="store_true", help="build once and serve, without watching")
    p.add_argument("--no-tours", action="store_true", help="do not run the live tour server")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("tour-server", help="serve live guided tours for the exhibits built into a site")
    p.add_argument("--site", required=True, help="built site folder (holds <exhibit>/exhibit.json)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--redis", default=None, help="redis://… URL: share tours between processes")
    p.add_argument("--secret-file", default=None, help="file holding the guide-token signing secret")
    p.add_argument("--origin", action="append", default=[], help="allowed Origin (repeatable)")
    p.add_argument("--room-cap", type=int, default=None, help="online visitors per tour (default 2500)")
    p.add_argument("--source-connections", type=int, default=None,
                   help="open connections per client address (default 1000; one NAT may hide a whole museum)")
    p.add_argument("--source-members", type=int, default=None,
                   help="joined members per client address (default 1000)")
    p.add_argument("--grace", type=float, default=None, help="seconds a dropped member may resume (default 120)")
    p.set_defaults(func=cmd_tour_server)

    p = sub.add_parser("tour-token", help="mint guide and visitor links (and a QR code) for a tour")
    p.add_argument("--site", required=True, help="built site folder")
    p.add_argument("--exhibit", required=True)
    p.add_argument("--tour", required=True)
    p.add_argument("--base-url", default="http://127.0.0.1:8000/")
    p.add_argument("--secret-file", default=None)
    p.add_argument("--hours", type=float, default=8.0, help="how long the guide token is valid")
    p.add_argument("--qr", default=None, help="write the visitor link's QR code to this file (.svg or .png)")
    p.set_defaults(func=cmd_tour_token)

    p = sub.add_parser("schema", help="print the JSON Schema of the exhibit language (for editors)")
    p.add_argument("-o", "--output", default=None)
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("new", help="create a starter exhibit that checks and builds clean")
    p.add_argument("name", help="folder to create")
    p.set_defaults(func=cmd_new)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except VitrinaError as error:
        # Known errors become messages; anything else is a bug and keeps its traceback.
        print(str(error), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; the previous output is untouched", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
