"""Thin command line: parses arguments, calls the library, maps known errors to messages and exit codes."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import NoReturn

from pipeline.errors import VitrinaError

# Each command's handler only translates arguments into one library call. The modules are imported lazily
# so `vitrina check` does not pay for trimesh, and so a missing optional extra fails with a clear message.


def cmd_check(args: argparse.Namespace) -> int:
    from pipeline.spec.check import check

    return check(Path(args.spec), strict=args.strict, out=sys.stdout, as_json=args.json)


def cmd_build(args: argparse.Namespace) -> int:
    from pipeline.build import BuildOptions, build

    report = build(Path(args.spec), Path(args.out), BuildOptions.from_args(args))
    print(report.to_text())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pipeline import preview
    from pipeline.build import BuildOptions, build

    spec = Path(args.spec)
    options = BuildOptions(quiet=True, link_report=True)  # the designer's own preview shows the report

    def builder(out_dir: Path) -> object:
        return build(spec, out_dir, options)

    if args.edit and not args.lan and (args.host or "127.0.0.1") not in ("127.0.0.1", "localhost", "::1"):
        # The editor writes into the exhibit: other machines reach it only through --lan's HTTPS and its checks.
        print("serve --edit binds loopback only; add --lan to edit from another device", file=sys.stderr)
        return 2
    editor = None
    if args.edit:
        from pipeline.spec.edit import LayoutEditor

        editor = LayoutEditor(spec)
    tls, host = None, args.host or "127.0.0.1"
    public_hosts: list[str] = []
    if args.lan:
        from pipeline import lan

        host = args.host or "0.0.0.0"
        try:  # every LAN address, or with --host ADDRESS that interface only
            public_hosts = lan.lan_addresses() if host in ("0.0.0.0", "::") else [lan.choose_address(host)]
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        tls, ca_file = lan.server_tls(lan.config_dir(), [*public_hosts, "127.0.0.1"])
        print(f"HTTPS with the local CA {ca_file}: trust it once on each device (docs/lan-preview.md)",
              file=sys.stderr)

    tours, run_loop = None, None
    if not args.no_tours:
        try:
            import secrets

            from viewer.tours import loop as tour_loop
            from viewer.tours.server import preview_persistence, serve_tours

            run_loop = tour_loop.run
        except ImportError as error:  # the static preview still works without the tour server
            print(f"live tours unavailable ({error}); serving the site only", file=sys.stderr)
        else:
            # A fresh secret per run: guide links minted for a real deployment never work against a preview.
            # With -o, the secret and the tours are kept beside the site, so a restart resumes the tours.
            secret, state_path = (preview_persistence(Path(args.out)) if args.out
                                  else (secrets.token_bytes(32), None))

            async def tours(site_dir: Path, host: str, port: int, **kwargs: object) -> None:
                await serve_tours(site_dir, host, port, secret=secret, links_log=sys.stderr, state_path=state_path,
                                  links_host=public_hosts[0] if public_hosts else None, **kwargs)  # type: ignore[arg-type]

    def show_qr(url: str) -> None:
        if args.lan:
            from urllib.parse import urlsplit

            from viewer.tours.tokens import print_terminal_qr

            # A code per LAN address: the headset may be on the Wi-Fi while the first address is the Ethernet's.
            for name in public_hosts or [str(urlsplit(url).hostname)]:
                link = f"https://{name}:{urlsplit(url).port}/"
                print(link, file=sys.stderr)
                print_terminal_qr(link, sys.stderr)

    watched = spec if spec.is_dir() else spec.parent
    return preview.run(builder, watched, host=host, port=args.port, out=Path(args.out) if args.out else None,
                       watch=not args.no_watch, tours=tours, editor=editor, tls=tls, public_hosts=public_hosts,
                       ready=show_qr, run_loop=run_loop)


def cmd_i18n_export(args: argparse.Namespace) -> int:
    from pipeline.spec.translate import export

    out = Path(args.output) if args.output else None
    form = args.format or ("csv" if out is not None and out.suffix.lower() == ".csv" else "xliff")
    text, count = export(Path(args.spec), args.lang, out, form)
    if out is None:
        sys.stdout.write(text)
    print(f"{count} texts to translate into {args.lang}" + (f", written to {out}" if out else ""), file=sys.stderr)
    return 0


def cmd_i18n_import(args: argparse.Namespace) -> int:
    from pipeline.spec.translate import import_file

    notes: list[str] = []
    language, changed, unknown = import_file(Path(args.spec), Path(args.file), notes)
    print(f"{changed} texts in {language} written into the exhibit's YAML (comments kept)")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for unit_id in unknown:
        print(f"warning: {unit_id} is not a text of this exhibit (renamed or removed?); skipped", file=sys.stderr)
    return 0


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


def cmd_import(args: argparse.Namespace) -> int:
    from pipeline.records.importer import import_records

    report = import_records([Path(s) for s in args.sources], Path(args.into), Path(args.map) if args.map else None)
    print(report.to_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitrina", description="Build immersive museum exhibitions.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check an exhibit spec and report every problem at once")
    p.add_argument("spec", help="exhibit folder or exhibit.yaml")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--json", action="store_true", help="print problems and placed model sizes as one JSON object")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("build", help="compile an exhibit into glTF scenes and a static WebXR site")
    p.add_argument("spec", help="exhibit folder or exhibit.yaml")
    p.add_argument("-o", "--out", default="site", help="output folder (replaced atomically)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--no-cache", action="store_true",
                   help="reprocess every asset, and hash and measure every source file again")
    p.add_argument("--no-bake", action="store_true", help="no baked light: rooms are lit in real time only")
    p.add_argument("--no-posters", action="store_true",
                   help="no posters (rendering them needs Chromium and Playwright; without them plain ones are used)")
    p.add_argument("--cache-dir", default=None, help="asset cache folder (default: the user's cache directory, or $VITRINA_CACHE_DIR)")
    p.add_argument("--jobs", type=int, default=0, help="parallel asset jobs (default: number of cores)")
    p.add_argument("--draco", action="store_true", help="Draco geometry instead of meshopt (slower to decode)")
    p.add_argument("--texture-format", choices=["keep", "webp", "ktx2"], default="keep")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--link-report", action="store_true",
                   help="link the build report from the exhibit page (by default it is not shown to visitors)")
    p.add_argument("--base-url", default=None,
                   help="public URL of the built exhibit folder (overrides exhibit.base_url); enables the IIIF, "
                        "Linked Art and Voyager exports")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("serve", help="build, serve on 127.0.0.1, watch and live-reload (with live tours)")
    p.add_argument("spec", help="exhibit folder or exhibit.yaml")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1; with --lan every LAN address)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("-o", "--out", default=None, help="output folder (default: a temporary folder)")
    p.add_argument("--no-watch", action="store_true", help="build once and serve, without watching")
    p.add_argument("--no-tours", action="store_true", help="do not run the live tour server")
    p.add_argument("--edit", action="store_true",
                   help="place artifacts by hand in the page; each change is written back into the YAML")
    p.add_argument("--lan", action="store_true",
                   help="serve HTTPS on the LAN for a headset or phone (prints the links and a QR code)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("i18n", help="translation round trip: export texts for a translator, import the result")
    i18n = p.add_subparsers(dest="i18n_command", required=True)
    q = i18n.add_parser("export", help="every visitor-facing text with its id and context, as XLIFF 2.0 or CSV")
    q.add_argument("spec", help="exhibit folder or exhibit.yaml")
    q.add_argument("--lang", required=True, help="the language to translate into (a BCP-47 tag)")
    q.add_argument("-o", "--output", default=None, help="file to write (.xlf/.xliff or .csv); default stdout")
    q.add_argument("--format", choices=["xliff", "csv"], default=None, help="default: from the file name, else xliff")
    q.set_defaults(func=cmd_i18n_export)
    q = i18n.add_parser("import", help="merge a translated XLIFF or CSV back into the YAML, comments kept")
    q.add_argument("spec", help="exhibit folder or exhibit.yaml")
    q.add_argument("file", help="the translated .xlf/.xliff or .csv file")
    q.set_defaults(func=cmd_i18n_import)

    p = sub.add_parser("tour-server", help="serve live guided tours for the exhibits built into a site")
    p.add_argument("--site", required=True, help="built site folder (holds <exhibit>/exhibit.json)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--redis", default=None,
                   help="redis://… URL: share tours between processes (Redis must persist: appendonly yes)")
    p.add_argument("--secret-file", default=None, help="file holding the guide-token signing secret")
    p.add_argument("--origin", action="append", default=[], help="allowed Origin (repeatable)")
    p.add_argument("--room-cap", type=int, default=None, help="online visitors per tour (default 2500)")
    p.add_argument("--source-connections", type=int, default=None,
                   help="open connections per client address (default 1000; one NAT may hide a whole museum)")
    p.add_argument("--source-members", type=int, default=None,
                   help="joined members per client address (default 1000)")
    p.add_argument("--source-connects-per-s", type=float, default=None,
                   help="new connections a second per client address, after a burst (default 20)")
    p.add_argument("--source-connects-burst", type=float, default=None,
                   help="new connections per client address at once (default 300: a school class behind one NAT)")
    p.add_argument("--grace", type=float, default=None, help="seconds a dropped member may resume (default 120)")
    p.add_argument("--state", default=None,
                   help="SQLite file keeping tours across restarts without --redis (default: one per site in the "
                        "user's data dir, ~/.local/share/vitrina/tours/; ':memory:' keeps nothing)")
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

    p = sub.add_parser("import", help="import collection records (CSV, XLSX, Linked Art, LIDO) into an exhibit")
    p.add_argument("sources", nargs="+", help="records.csv, records.xlsx, or Linked Art / LIDO files or folders")
    p.add_argument("--into", required=True, help="the exhibit folder (or its exhibit.yaml)")
    p.add_argument("--map", default=None, help="mapping file: which column is which field (YAML)")
    p.set_defaults(func=cmd_import)

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


def run() -> NoReturn:
    """The `vitrina` command: main(), then an exit whose last garbage collection skips the objects the command made
    (gc.freeze): it walked all of them, 0.05 s after a build, and every file the command wrote is closed by then.
    Tests call main(), which leaves the collector alone.

    numpy's OpenBLAS gets one thread. The build runs its own (asset jobs, level writers, the bake), and OpenBLAS
    started one more per core for a large matrix product, which then spun waiting for the next: 12 % of a
    1M-triangle scan's cold build CPU on 2 cores (perf), taken from the threads doing the work. OpenBLAS reads it
    as it loads, so before anything imports numpy; a value the user set stays."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
