"""`fernwart-collector`: serve the API, migrate the schema, add technicians, create enrollment tokens.

Secrets (API and enrollment tokens) are printed once, on the last line of stdout, so scripts can take
them with ``tail -n 1``. Errors go to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fernwart.collector.settings import Settings, SettingsError, from_env

if TYPE_CHECKING:
    from sqlalchemy import Engine

try:  # the collector's dependencies live behind an extra; an agent-only install lacks them
    from fernwart.collector import database
    from fernwart.collector.models import utcnow
except ModuleNotFoundError as missing:
    MISSING_DEPENDENCY: str | None = missing.name or "a collector dependency"
else:
    MISSING_DEPENDENCY = None


class CliError(Exception):
    """A mistake on the command line or in the environment; printed without a traceback."""


def _settings(args: argparse.Namespace) -> Settings:
    try:
        settings = from_env()
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    return settings.with_overrides(database_url=getattr(args, "database", None))


def _ttl(text: str) -> timedelta:
    from fernwart.collector.domain.durations import parse_duration
    from fernwart.collector.domain.errors import SpecError

    try:
        d = parse_duration(text)
    except SpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if d.days == 0 and d.seconds == 0:
        raise argparse.ArgumentTypeError("a TTL must be longer than 0s")
    return timedelta(days=d.days, seconds=d.seconds)  # a TTL counts calendar days, not service days


def _engine(settings: Settings, create: bool = False) -> Engine:
    """Open (and migrate) the database; a missing SQLite file is created only when `create` is set
    (migrate, serve, or --create-database), so a command run from the wrong directory says so instead of
    working on a new, empty database."""
    path = _sqlite_path(settings.effective_database_url)
    if path is not None and not create and not path.exists():
        raise CliError(
            f"no database at {path}; run `fernwart-collector migrate` to create it, or point "
            "FERNWART_HOME, FERNWART_DATABASE_URL or --database at the existing one "
            "(--create-database creates it here)"
        )
    try:
        engine = database.make_engine(settings.effective_database_url)
        database.migrate(engine)
    except Exception as exc:  # noqa: BLE001 - any driver error: say which database, without the password
        url = database.safe_url(settings.effective_database_url)
        raise CliError(f"cannot open database {url}: {exc}") from None
    return engine


def _sqlite_path(url: str) -> Path | None:
    """Return the file of an SQLite URL (None for another database or an in-memory one)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return None
    return Path(url[len(prefix):].split("?", 1)[0])


def _database_name(settings: Settings) -> str:
    return database.safe_url(settings.effective_database_url)


def _os_user() -> str:
    """Return the OS account running the command (from the password database, not only $USER)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fernwart.collector.app import create_app

    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    settings = _settings(args)
    from fernwart.collector.services.notifications import NotifyConfigError, load_transports

    try:  # fail here, with the file and key named, rather than in a worker's startup
        load_transports(settings.notify_config or settings.home / "notify.yaml")
    except NotifyConfigError as exc:
        raise CliError(str(exc)) from None
    engine = _engine(settings, create=True)
    url = f"http://{args.host}:{args.port}"
    print(
        f"Fernwart collector on {url}  (API {url}/api/v1/, docs {url}/docs, "
        f"database {database.safe_url(settings.effective_database_url)})",
        file=sys.stderr,
        flush=True,
    )
    if args.workers > 1:  # worker processes rebuild the app from the environment
        engine.dispose()
        os.environ["FERNWART_DATABASE_URL"] = settings.effective_database_url
        os.environ["FERNWART_HOME"] = str(settings.home)
        uvicorn.run(
            "fernwart.collector.app:app_from_env",
            factory=True,
            workers=args.workers,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=args.access_log,
        )
        return 0
    app = create_app(settings, engine=engine, migrate=False)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _engine(settings, create=True).dispose()
    print(f"schema up to date: {database.safe_url(settings.effective_database_url)}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from fernwart.collector.services import auth, customers
    from fernwart.collector.services.errors import ServiceError

    settings = _settings(args)
    engine = _engine(settings, create=args.create_database)
    with database.session_factory(engine)() as db:
        if args.customer and not args.create_customer and customers.by_name(db, args.customer) is None:
            known = ", ".join(sorted(c.name for c in customers.listed(db))) or "none yet"
            raise CliError(
                f"no customer {args.customer!r} in {_database_name(settings)} (known: {known}); "
                "check the spelling, or add --create-customer"
            )
        try:
            token = auth.create_user(db, args.name, args.role, utcnow(), customer=args.customer)
        except ServiceError as exc:
            raise CliError(str(exc)) from None
        db.commit()
    engine.dispose()
    print(f"created {args.role} {args.name} in {_database_name(settings)}; API token (shown once):")
    print(token)
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from fernwart.collector.services import auth
    from fernwart.collector.services.errors import ServiceError

    engine = _engine(_settings(args), create=args.create_database)
    with database.session_factory(engine)() as db:
        try:
            token = auth.create_enrollment_token(
                db, utcnow(), args.customer, args.ttl, args.uses, replace_host=args.replace
            )
        except ServiceError as exc:
            raise CliError(str(exc)) from None
        db.commit()
    engine.dispose()
    limits = [
        f"customer {args.customer}" if args.customer else "no customer",
        f"valid for {args.ttl}",
        f"{args.uses} use{'s' if args.uses != 1 else ''}",
    ]
    if args.replace:
        limits.append(f"may replace host {args.replace}")
    print(f"enrollment token ({', '.join(limits)}; shown once):")
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from fernwart.collector.services import auth

    engine = _engine(_settings(args), create=args.create_database)
    with database.session_factory(engine)() as db:
        tokens = auth.enrollment_tokens(db, utcnow())
    engine.dispose()
    print(f"{'id':>5}  {'state':8}  {'uses left':9}  {'expires (UTC)':20}  customer")
    for t in tokens:
        uses = "unlimited" if t.uses is None else f"{t.uses_left}/{t.uses}"
        expires = t.expires_at.strftime("%Y-%m-%d %H:%M:%S") if t.expires_at else "never"
        extra = f"  (may replace {t.replace_host})" if t.replace_host else ""
        print(f"{t.id:>5}  {t.state:8}  {uses:9}  {expires:20}  {t.customer or '-'}{extra}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from fernwart.collector.services import auth
    from fernwart.collector.services.errors import ServiceError

    engine = _engine(_settings(args), create=args.create_database)
    with database.session_factory(engine)() as db:
        try:
            auth.revoke_enrollment_token(db, args.id, utcnow())
        except ServiceError as exc:
            raise CliError(str(exc)) from None
        db.commit()
    engine.dispose()
    print(f"enrollment token {args.id} revoked")
    return 0


def cmd_host_revoke(args: argparse.Namespace) -> int:
    from fernwart.collector.services import auth
    from fernwart.collector.services.errors import ServiceError

    engine = _engine(_settings(args), create=args.create_database)
    with database.session_factory(engine)() as db:
        try:
            auth.revoke_host(db, args.name, args.customer, utcnow())
        except ServiceError as exc:
            raise CliError(str(exc)) from None
        db.commit()
    engine.dispose()
    print(f"host {args.name} revoked: its agent is told so at its next report and stops sending")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from fernwart.collector.services import contracts
    from fernwart.collector.services.errors import Invalid

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        document, parsed = contracts.parse_document(text)
    except Invalid as exc:
        raise CliError(
            f"{args.file}: contract refused, nothing changed:\n  " + "\n  ".join(exc.problems)
        ) from None
    names = ", ".join(c.name for c in parsed.customers)
    if args.dry_run:
        print(f"{args.file}: valid ({names}); nothing applied (--dry-run)")
        return 0
    engine = _engine(_settings(args), create=args.create_database)
    with database.session_factory(engine)() as db:
        applied = contracts.apply(db, document, f"cli:{args.by or _os_user()}", utcnow())
        db.commit()
    engine.dispose()
    print(f"applied contracts for {names}; {applied.hosts_updated} host criticalities updated")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fernwart-collector",
        description="Fernwart collector: receives agent reports, keeps check state, opens repair tickets.",
        epilog="Environment: FERNWART_HOME (default ./fernwart-data), FERNWART_DATABASE_URL "
        "(default sqlite under FERNWART_HOME; PostgreSQL as postgresql+psycopg://user@host/db).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    db_flag = argparse.ArgumentParser(add_help=False)
    db_flag.add_argument("--database", metavar="URL", help="database URL (overrides FERNWART_DATABASE_URL)")
    db_flag.add_argument("--create-database", action="store_true",
                         help="create a missing SQLite database (migrate and serve always may)")

    serve = sub.add_parser("serve", parents=[db_flag], help="run the collector API, dashboard and jobs")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8750, help="port to listen on (default 8750)")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1); more use more cores, metrics are then per worker",
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", parents=[db_flag], help="create or upgrade the database schema").set_defaults(
        func=cmd_migrate
    )

    user = sub.add_parser("user", help="manage technicians").add_subparsers(
        dest="user_command", required=True
    )
    add = user.add_parser("add", parents=[db_flag], help="add a technician; prints their API token last")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "level1", "level2", "level3"])
    add.add_argument("--customer", help="restrict this account to one customer's data (an existing one)")
    add.add_argument("--create-customer", action="store_true", help="create --customer if it is new")
    add.set_defaults(func=cmd_user_add)

    token = sub.add_parser("token", help="manage enrollment tokens").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", parents=[db_flag], help="create an enrollment token; prints it last")
    create.add_argument("--customer", help="customer the enrolled hosts belong to (created if new)")
    create.add_argument("--ttl", type=_ttl, default=timedelta(hours=24),
                        help="validity, e.g. 1h, 30m, 7d (default: 24h)")
    create.add_argument("--uses", type=int, default=1, help="how many hosts may enroll with it (default: 1)")
    create.add_argument("--replace", metavar="HOST",
                        help="allow taking over this existing host (a reinstalled machine)")
    create.set_defaults(func=cmd_token_create)
    listing = token.add_parser("list", parents=[db_flag], help="list enrollment tokens and their state")
    listing.set_defaults(func=cmd_token_list)
    revoke = token.add_parser("revoke", parents=[db_flag], help="revoke an enrollment token by its id")
    revoke.add_argument("id", type=int, help="the id shown by `token list`")
    revoke.set_defaults(func=cmd_token_revoke)
    host = sub.add_parser("host", help="manage enrolled hosts").add_subparsers(
        dest="host_command", required=True
    )
    revoke_host = host.add_parser("revoke", parents=[db_flag], help="revoke a host's agent token for good")
    revoke_host.add_argument("name", help="the host's name")
    revoke_host.add_argument("--customer", help="the host's customer, when several have a host of that name")
    revoke_host.set_defaults(func=cmd_host_revoke)
    apply = sub.add_parser("apply", parents=[db_flag], help="apply a contracts YAML file (all or nothing)")
    apply.add_argument("file", help="YAML file with a top-level 'customers:' list")
    apply.add_argument("--dry-run", action="store_true", help="only validate")
    apply.add_argument("--by", metavar="NAME", help="who applies it, for the audit (default: the OS user)")
    apply.set_defaults(func=cmd_apply)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if MISSING_DEPENDENCY is not None:
        print(
            f"fernwart-collector: the collector's dependencies are not installed ({MISSING_DEPENDENCY} is "
            "missing); install them with: pip install 'fernwart[collector]'",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as exc:
        print(f"fernwart-collector: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
