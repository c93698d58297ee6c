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
from typing import TYPE_CHECKING, Any

from fernwart.collector.settings import Settings, SettingsError, from_env

# Seconds requests in flight get to finish at shutdown; waiting job long-polls (up to 60 s) are cut
# then, and their agents simply poll again, so a stop does not wait out every agent's poll.
GRACEFUL_SHUTDOWN = 5

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


def check_tls_files(cert: str | None, key: str | None) -> bool:
    """Load `cert` and `key` as the server will; return True for HTTPS, False when neither is given.

    Both or neither must be given; raises CliError naming the file for a missing or unreadable one, one
    that is not PEM, and a key that does not belong to the certificate.
    """
    import ssl

    if cert is None and key is None:
        return False
    if cert is None or key is None:
        raise CliError("--tls-cert and --tls-key go together: give the certificate and its private key")
    for flag, path, marker in (("--tls-cert", cert, "CERTIFICATE-----"),
                               ("--tls-key", key, "PRIVATE KEY-----")):
        try:
            with open(path, "rb") as handle:
                head = handle.read(1024 * 1024)
        except OSError as exc:
            raise CliError(f"{flag} {path}: cannot read it: {exc.strerror or exc}") from None
        if marker.encode() not in head:
            raise CliError(f"{flag} {path}: not a PEM file with a {marker.rstrip('-').lower()}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            raise CliError(f"--tls-key {key} does not belong to --tls-cert {cert} "
                           "(key values mismatch)") from None
        raise CliError(f"cannot use --tls-cert {cert} with --tls-key {key}: {exc.reason or exc}") from None
    return True


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
    tls = check_tls_files(args.tls_cert, args.tls_key)
    settings = _settings(args)
    from fernwart.collector.services.notifications import NotifyConfigError, load_transports

    try:  # fail here, with the file and key named, rather than in a worker's startup
        load_transports(settings.notify_config or settings.home / "notify.yaml")
    except NotifyConfigError as exc:
        raise CliError(str(exc)) from None
    engine = _engine(settings, create=True)
    url = f"{'https' if tls else 'http'}://{args.host}:{args.port}"
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
            ssl_certfile=args.tls_cert,
            ssl_keyfile=args.tls_key,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        )
        return 0
    app = create_app(settings, engine=engine, migrate=False)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=args.access_log,
                ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _engine(settings, create=True).dispose()
    print(f"schema up to date: {database.safe_url(settings.effective_database_url)}")
    return 0


def cmd_housekeeping(args: argparse.Namespace) -> int:
    from fernwart.collector.services import housekeeping

    settings = _settings(args)
    try:
        retention = settings.retention()
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    engine = _engine(settings)
    try:
        sessions = database.session_factory(engine)
        outcome = housekeeping.run(sessions, utcnow(), retention, dry_run=args.dry_run)
    finally:
        engine.dispose()
    if outcome is None:
        raise CliError("another collector is running housekeeping now; try again later")
    for line in outcome.lines():
        print(line)
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


def _ssh_where(args: argparse.Namespace, settings: Settings) -> tuple[str, int, list[str] | None]:
    """Return (address, port, host or None) for `ssh trust/forget HOST`: the host's SSH target when
    HOST is a host of this collector, else HOST itself; --address and --port override."""
    from fernwart.collector.services import ssh_targets
    from fernwart.collector.services.errors import NotFound, ServiceError

    engine = _engine(settings)
    try:
        with database.session_factory(engine)() as db:
            try:
                host = ssh_targets.find_host(db, args.host, getattr(args, "customer", None))
            except NotFound:
                return args.address or args.host, args.port or 22, None
            except ServiceError as exc:
                raise CliError(str(exc)) from None
            where = ssh_targets.reach(db, host, settings.ssh_user)
            reported = ssh_targets.reported_fingerprints(db, host)
            return args.address or where.address, args.port or where.port, reported
    finally:
        engine.dispose()


def _confirm(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:  # no terminal: not confirmed
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_ssh_trust(args: argparse.Namespace) -> int:
    from fernwart.ssh import KnownHosts, SSHError, fingerprint, host_key_name, scan_host_key
    from fernwart.ssh.errors import HostKeyChanged

    settings = _settings(args)
    address, port, reported = _ssh_where(args, settings)
    known = KnownHosts(settings.effective_ssh_known_hosts)
    name = host_key_name(address, port)
    try:
        key = scan_host_key(address, port, settings.ssh_connect_timeout)
    except SSHError as exc:
        raise CliError(str(exc)) from None
    offered = fingerprint(key)
    recorded = [k for k in known.lookup(address, port) if k.key_type == key.get_name()]
    if recorded and recorded[0].fingerprint == offered:
        print(f"{name}: {key.get_name()} key {offered} is trusted already")
        return 0
    if recorded:
        raise CliError(str(HostKeyChanged(name, key.get_name(), recorded[0].fingerprint, offered)))
    print(f"{name} offers a {key.get_name()} host key with fingerprint\n  {offered}")
    if reported:
        verdict = "matches" if offered in reported else "DOES NOT MATCH"
        print(f"this {verdict} the fingerprints the host's agent reported: {', '.join(reported)}")
    print("Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the host.")
    if not (args.yes or _confirm("Trust this key? [y/N] ")):
        print("not trusted; nothing recorded")
        return 1
    known.add(address, port, key)
    print(f"trusted {name} {key.get_name()} {offered} (in {known.path})")
    return 0


def cmd_ssh_forget(args: argparse.Namespace) -> int:
    from fernwart.ssh import KnownHosts

    settings = _settings(args)
    address, port, _ = _ssh_where(args, settings)
    removed = KnownHosts(settings.effective_ssh_known_hosts).forget(address, args.port and port)
    if not removed:
        raise CliError(f"{address}: no trusted host key recorded")
    for key in removed:
        print(f"forgot {key.name} {key.key_type} {key.fingerprint}")
    return 0


def cmd_ssh_target(args: argparse.Namespace) -> int:
    from fernwart.collector.services import ssh_targets
    from fernwart.collector.services.errors import ServiceError

    settings = _settings(args)
    engine = _engine(settings)
    with database.session_factory(engine)() as db:
        try:
            host = ssh_targets.find_host(db, args.host, args.customer)
            where = ssh_targets.set_target(db, host, utcnow(), address=args.address, port=args.port,
                                           user=args.user or settings.ssh_user,
                                           allow_repairs=args.allow_repairs)
        except ServiceError as exc:
            raise CliError(str(exc)) from None
        db.commit()
    engine.dispose()
    print(f"host {where.host_name}: over SSH as {where.user}@{where.address} port {where.port}, repairs "
          + ("allowed" if where.allow_repairs else "not allowed"))
    return 0


def cmd_ssh_key(args: argparse.Namespace) -> int:
    import paramiko

    path = _settings(args).effective_ssh_key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = paramiko.ECDSAKey.generate(bits=256)
        key.write_private_key_file(str(path))
        path.chmod(0o600)
        print(f"created {path}", file=sys.stderr)
    key = paramiko.ECDSAKey.from_private_key_file(str(path))
    print("Put this line into the authorized_keys of the SSH user on each host:", file=sys.stderr)
    print(f"{key.get_name()} {key.get_base64()} fernwart-collector")
    return 0


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER variable and no passwd entry
        return "unknown"


def cmd_host_reset_instance(args: argparse.Namespace) -> int:
    from fernwart.collector.services import identity
    from fernwart.collector.services.errors import ServiceError

    engine = _engine(_settings(args))
    with database.session_factory(engine)() as db:
        try:
            identity.reset_instance(db, args.name, args.customer)
        except ServiceError as exc:
            raise CliError(str(exc)) from None
        db.commit()
    engine.dispose()
    print(f"host {args.name}: agent instance unbound; the next agent instance that reports with its token "
          "is bound to it")
    return 0


def cmd_host_approve(args: argparse.Namespace) -> int:
    from fernwart.collector.services import identity
    from fernwart.collector.services.errors import ServiceError

    engine = _engine(_settings(args))
    now = utcnow()
    with database.session_factory(engine)() as db:
        try:
            identity.approve_named(db, args.name, args.customer, args.by, now)
        except ServiceError as exc:
            raise CliError(str(exc)) from None
        db.commit()
    engine.dispose()
    print(f"host {args.name} approved; its results count from {now.isoformat(timespec='seconds')}")
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
    serve.add_argument("--tls-cert", metavar="FILE",
                       help="serve HTTPS with this PEM certificate (chain); needs --tls-key")
    serve.add_argument("--tls-key", metavar="FILE", help="the PEM private key of --tls-cert")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", parents=[db_flag], help="create or upgrade the database schema").set_defaults(
        func=cmd_migrate
    )

    keep = sub.add_parser(
        "housekeeping",
        parents=[db_flag],
        help="downsample and delete raw results past their retention, prune history, make partitions",
        description="Run what the periodic job runs every FERNWART_HOUSEKEEPING_INTERVAL seconds: raw "
        "results older than FERNWART_RETAIN_RESULTS_DAYS (31) are added to 5-minute and hourly rollups "
        "and deleted (on PostgreSQL whole daily partitions are dropped); 5-minute rollups are kept "
        "FERNWART_RETAIN_5MIN_DAYS (93), hourly rollups and state changes FERNWART_RETAIN_HISTORY_DAYS "
        "(1098); partitions are made FERNWART_PARTITIONS_AHEAD_DAYS (7) ahead.",
    )
    keep.add_argument("--dry-run", action="store_true", help="only print what would be done")
    keep.set_defaults(func=cmd_housekeeping)

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
    _ssh_commands(sub, db_flag)
    reset = host.add_parser("reset-instance", parents=[db_flag],
                            help="unbind a host's agent instance after a reinstall (the next one is bound)")
    reset.add_argument("name", help="the host's name")
    reset.add_argument("--customer", help="the host's customer, when several have a host of that name")
    reset.set_defaults(func=cmd_host_reset_instance)
    approve = host.add_parser("approve", parents=[db_flag],
                              help="approve a host waiting for approval; its results count from now")
    approve.add_argument("name", help="the host's name")
    approve.add_argument("--customer", help="the host's customer, when several have a host of that name")
    approve.add_argument("--by", default=f"cli:{_login()}", help="who approves (default cli:$USER)")
    approve.set_defaults(func=cmd_host_approve)
    apply = sub.add_parser("apply", parents=[db_flag], help="apply a contracts YAML file (all or nothing)")
    apply.add_argument("file", help="YAML file with a top-level 'customers:' list")
    apply.add_argument("--dry-run", action="store_true", help="only validate")
    apply.add_argument("--by", metavar="NAME", help="who applies it, for the audit (default: the OS user)")
    apply.set_defaults(func=cmd_apply)
    return parser


def _ssh_commands(sub: Any, db_flag: argparse.ArgumentParser) -> None:
    ssh = sub.add_parser("ssh", help="SSH access for diagnostics over SSH: host keys, targets, own key")
    ssub = ssh.add_subparsers(dest="ssh_command", required=True)
    trust = ssub.add_parser("trust", parents=[db_flag],
                            help="show a host's SSH key fingerprint; record it only when confirmed")
    forget = ssub.add_parser("forget", parents=[db_flag], help="remove a host's trusted SSH keys")
    for command in (trust, forget):
        command.add_argument("host", help="a host of this collector (its SSH target is used), or an address")
        command.add_argument("--address", help="connect here instead")
        command.add_argument("--port", type=int, help="SSH port (default: the target's, else 22)")
        command.add_argument("--customer", help="the host's customer, when several have a host of that name")
    trust.add_argument("--yes", action="store_true", help="trust without asking (after checking it)")
    trust.set_defaults(func=cmd_ssh_trust)
    forget.set_defaults(func=cmd_ssh_forget)
    target = ssub.add_parser("target", parents=[db_flag], help="set where a host is reached over SSH")
    target.add_argument("host", help="the host's name or id")
    target.add_argument("--address", required=True, help="DNS name or IP address")
    target.add_argument("--port", type=int, default=22)
    target.add_argument("--user", help="login (default FERNWART_SSH_USER, else fernwart)")
    target.add_argument("--allow-repairs", action="store_true",
                        help="let repair playbooks run over SSH (contract and level rules still apply)")
    target.add_argument("--customer", help="the host's customer, when several have a host of that name")
    target.set_defaults(func=cmd_ssh_target)
    ssub.add_parser("key", help="print the collector's public SSH key (created on first use)").set_defaults(
        func=cmd_ssh_key)


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
