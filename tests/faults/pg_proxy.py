"""A TCP proxy between the ledger and PostgreSQL that fails on purpose.

``cut_after_commit()`` arms a one-shot fault: the next execution of a statement whose
text contains the proxy's ``marker`` (by default the ledger's insert function) is let through to the
server and executed (in autocommit mode: committed), but the client hears nothing of its
result: the server's messages are held back until its ``ReadyForQuery`` (sent after the
implicit transaction committed), and then both sides are closed. ``stop()`` is an outage
(every connection cut, new ones refused); ``start()`` ends it, on the same port.

Both directions are parsed into protocol messages (type byte, length). The client's
``Parse`` messages tell which prepared statement names hold the marker; a ``Bind`` of one
of them is the execution to cut after (a prepared statement is described only once, so its
results cannot be recognised from the server's side alone).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

__all__ = ["PgProxy"]


class PgProxy:
    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432),
                 marker: bytes = b"ledger_insert_events") -> None:
        self.upstream = upstream
        self.marker = marker
        self.port = 0
        self.cuts = 0  # connections cut by an armed fault
        self._armed: str | None = None
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def start(self) -> PgProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def stop(self) -> None:
        """The database goes away: every connection is cut, and new ones are refused."""
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)

    def cut_after_commit(self) -> None:
        self._armed = "cut"

    def stop_after_commit(self) -> None:
        """The next marked execution is committed and answered, and then the database
        goes away (as :meth:`stop`)."""
        self._armed = "outage"

    def disarm(self) -> None:
        self._armed = None

    @contextlib.contextmanager
    def running(self) -> Iterator[PgProxy]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets |= {client, server}
            for sock in (client, server):  # no Nagle: each message goes out at once
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection()
            threading.Thread(target=self._requests, args=(client, server, connection),
                             daemon=True).start()
            threading.Thread(target=self._replies, args=(server, client, connection),
                             daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket,
                  connection: _Connection) -> None:
        """Forward the client's messages, noting an execution of a marked statement."""
        buffer = b""
        started = False  # the startup packets (SSL/GSS requests, startup) have no type byte
        marked: set[bytes] = set()  # prepared statement names whose text holds the marker
        try:
            while data := client.recv(65536):
                buffer += data
                while True:
                    if not started:
                        if len(buffer) < 8:
                            break
                        (length, code) = struct.unpack("!II", buffer[:8])
                        if len(buffer) < length:
                            break
                        server.sendall(buffer[:length])
                        buffer = buffer[length:]
                        started = code not in (80877103, 80877104)  # SSL, GSS requests
                        continue
                    if len(buffer) < 5:
                        break
                    (length,) = struct.unpack("!I", buffer[1:5])
                    if len(buffer) < 1 + length:
                        break
                    message, buffer = buffer[: 1 + length], buffer[1 + length :]
                    kind, payload = message[:1], message[5:]
                    if kind == b"P":
                        name, _, rest = payload.partition(b"\x00")
                        text = rest.partition(b"\x00")[0]
                        if self.marker in text:
                            marked.add(name)
                        else:
                            marked.discard(name)
                    elif kind == b"B":
                        statement = payload.partition(b"\x00")[2].partition(b"\x00")[0]
                        if statement in marked and self._armed:
                            connection.fault, self._armed = self._armed, None  # before
                            # the server can answer
                    server.sendall(message)
        except OSError:
            pass
        _close(client)
        _close(server)

    def _replies(self, server: socket.socket, client: socket.socket,
                 connection: _Connection) -> None:
        """Forward the server's messages, holding back the marked execution's result and
        cutting at its ``ReadyForQuery``."""
        buffer = b""
        started = False  # before the first message, SSL/GSS refusals are single bytes
        try:
            while data := server.recv(65536):
                buffer += data
                out = b""
                while buffer:
                    if not started and buffer[:1] in (b"N", b"G") and (
                            len(buffer) == 1 or buffer[1:2] != b"\x00"):
                        out, buffer = out + buffer[:1], buffer[1:]
                        continue
                    if len(buffer) < 5:
                        break
                    kind = buffer[:1]
                    (length,) = struct.unpack("!I", buffer[1:5])
                    if len(buffer) < 1 + length:
                        break
                    message, buffer = buffer[: 1 + length], buffer[1 + length :]
                    started = True
                    if connection.fault == "outage" and kind == b"Z":
                        client.sendall(out + message)  # answered; then the outage
                        self.cuts += 1
                        threading.Thread(target=self.stop, daemon=True).start()
                        raise ConnectionAbortedError
                    if connection.fault == "cut":
                        if kind == b"Z":  # the server committed and is ready again: cut
                            self.cuts += 1
                            raise ConnectionAbortedError
                        continue  # held back: the client hears nothing of it
                    out += message
                if out:
                    client.sendall(out)
        except OSError:
            pass
        _close(server)
        _close(client)


class _Connection:
    fault: str | None = None  # what happens after the marked execution: "cut", "outage"


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
