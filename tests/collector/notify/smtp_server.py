"""A throwaway SMTP server for the notify tests: aiosmtpd on 127.0.0.1, run as its own process.

    python tests/notify/smtp_server.py --port P --maildir DIR [--security none|starttls|tls]
        [--cert CERT --key KEY] [--user U --password PW] [--mechanisms LOGIN,PLAIN]

`starttls` requires STARTTLS before MAIL and AUTH; `tls` speaks TLS from the first byte. With --user,
AUTH is required and only that user/password is accepted. Recipients whose local part starts with
"unknown" get 550, with "busy" get 451. Each accepted message is written to DIR/NNNN.eml with its
envelope in DIR/NNNN.json (mail_from, rcpt_tos, tls, auth_user, auth_mechanism). DIR/ready appears once
the server accepts connections; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import json
import signal
import ssl
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


class MaildirHandler:
    """Refuses the scripted recipients and writes every accepted message to the mail directory."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.count = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        local = address.partition("@")[0]
        if local.startswith("unknown"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        name = f"{self.count:04d}"
        content = envelope.original_content or b""
        auth = session.auth_data if isinstance(session.auth_data, LoginPassword) else None
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport is not None and server.transport.get_extra_info("ssl_object") is not None,
            "auth_user": auth.login.decode() if auth else None,
            "auth_mechanism": getattr(session, "fernwart_mechanism", None),
        }
        _write(self.maildir / f"{name}.eml", content)
        _write(self.maildir / f"{name}.json", json.dumps(meta).encode())
        return f"250 2.0.0 Ok: queued as {name}"


def _write(path: Path, data: bytes) -> None:
    # Write then rename, so the test never reads half a message.
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.rename(path)


def make_authenticator(user: str, password: str) -> Any:
    """Return an aiosmtpd authenticator accepting exactly `user` / `password`."""

    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        if ok:
            setattr(session, "fernwart_mechanism", mechanism)  # noqa: B010 - Session has no such field
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return authenticate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--security", choices=["none", "starttls", "tls"], default="none")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--mechanisms", default="LOGIN,PLAIN")
    args = parser.parse_args()

    kwargs: dict[str, Any] = {}
    if args.security != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        if args.security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            # Implicit TLS: the whole session is encrypted; aiosmtpd's check only knows STARTTLS.
            kwargs.update(ssl_context=context, auth_require_tls=False)
    if args.user:
        wanted = set(args.mechanisms.split(","))
        kwargs.update(
            authenticator=make_authenticator(args.user, args.password),
            auth_required=True,
            auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in wanted],
        )
    controller = Controller(MaildirHandler(args.maildir), hostname="127.0.0.1", port=args.port, **kwargs)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    controller.start()
    try:
        (args.maildir / "ready").write_text("ready\n")
        while not stop.wait(0.1):
            pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
