"""A loopback SMTP sink: the local cloud's mail relay, keeping every message it accepts.

Just enough of RFC 5321 for a client that sends (EHLO/HELO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT); nothing is delivered anywhere.
"""

from __future__ import annotations

import email
import email.policy
import socketserver
import threading
from email.message import EmailMessage
from typing import ClassVar


class _Session(socketserver.StreamRequestHandler):
    outbox: ClassVar[list[tuple[str, list[str], EmailMessage]]]

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 localcloud SMTP sink")
        sender, recipients = "", list[str]()
        while raw := self.rfile.readline():
            command = raw.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localcloud")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                lines = []
                while (line := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(line[1:] if line.startswith(b"..") else line)
                message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                self.outbox.append((sender, recipients, message))
                self.reply("250 OK: queued")
            elif verb in ("RSET", "NOOP"):
                sender, recipients = ("", []) if verb == "RSET" else (sender, recipients)
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class SmtpSink:
    def __init__(self) -> None:
        self.outbox: list[tuple[str, list[str], EmailMessage]] = []
        handler = type("Session", (_Session,), {"outbox": self.outbox})
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
