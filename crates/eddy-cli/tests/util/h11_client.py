#!/usr/bin/env python3
"""A strict HTTP/1.1 client for the eddy-cli tests: the test says what to
write and when; every byte the server sends is parsed by h11, which refuses
anything RFC 9112 does not allow (a body after a HEAD answer, a bad length,
bytes after a `Connection: close` answer, a message cut short...).

usage: h11_client.py HOST:PORT STEP...

Steps, in order:
  send:HEX      write these bytes (a write that fails is reported, and the
                remaining writes are skipped)
  req:METHOD    the next response answers a METHOD request (h11 frames the
                answer by it: a HEAD's has no body); one per request sent
  sleep:SECS    wait
  await:N       wait (at most the read time) until N responses are complete
  mark:TEXT     print `mark TEXT` at once, so that the test can act then
  shut_wr       shut the write side (TCP half-close)
  reset         close at once with SO_LINGER 0 (the server sees RST); ends
  read:SECS     after the steps, wait at most SECS (default 10) for the
                server to close the connection

Output, one event a line, fields separated by tabs, AT in seconds from the
connect:
  response AT STATUS BODY-HEX NAME=VALUE-HEX...
  informational AT STATUS
  send-failed AT ERROR
  error AT MESSAGE        h11 refused what the server sent (exit status 1)
  end AT eof|reset|open   the server closed (FIN, RST) or kept it open
"""

import socket
import struct
import sys
import threading
import time

import h11

T0 = time.monotonic()
LOCK = threading.Lock()


def now():
    return f"{time.monotonic() - T0:.3f}"


def emit(*fields):
    with LOCK:
        print("\t".join(str(f) for f in fields), flush=True)


class Reader(threading.Thread):
    """Reads what the server sends and parses it with h11, request by
    request, as the responses complete."""

    def __init__(self, sock, methods):
        super().__init__(daemon=True)
        self.sock = sock
        self.methods = list(methods)
        self.conn = h11.Connection(h11.CLIENT)
        self.done = threading.Condition()
        self.responses = 0
        self.finished = False
        self.failed = False
        self.pending = None
        self.next_request()

    def next_request(self):
        """Tells h11 of the next request (the real one went on the wire)."""
        if not self.methods:
            return False
        method = self.methods.pop(0)
        self.conn.send(h11.Request(method=method, target="/", headers=[("Host", "eddy")]))
        self.conn.send(h11.EndOfMessage())
        return True

    def finish(self, how):
        emit("end", now(), how)
        with self.done:
            self.finished = True
            self.done.notify_all()

    def run(self):
        try:
            while True:
                try:
                    data = self.sock.recv(65536)
                except ConnectionResetError:
                    self.finish("reset")
                    return
                except OSError as e:
                    # Our own `reset` step closed the socket.
                    self.finish(f"closed-by-client:{e.errno}")
                    return
                self.conn.receive_data(data)
                if not self.drain():
                    return
                if not data:
                    self.finish("eof")
                    return
        except h11.ProtocolError as e:
            emit("error", now(), repr(e))
            self.failed = True
            self.finish("error")

    def drain(self):
        """Handles every event h11 has; False once the connection is over."""
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                return True
            if isinstance(event, h11.InformationalResponse):
                emit("informational", now(), event.status_code)
            elif isinstance(event, h11.Response):
                self.pending = (event, bytearray())
            elif isinstance(event, h11.Data):
                self.pending[1].extend(event.data)
            elif isinstance(event, h11.EndOfMessage):
                response, body = self.pending
                headers = [f"{n.decode()}={v.hex()}" for n, v in response.headers]
                emit("response", now(), response.status_code, bytes(body).hex(), *headers)
                with self.done:
                    self.responses += 1
                    self.done.notify_all()
                if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE and self.methods:
                    self.conn.start_next_cycle()
                    self.next_request()
            elif isinstance(event, h11.ConnectionClosed):
                if self.conn.trailing_data[0]:
                    raise h11.RemoteProtocolError(f"bytes after the last response: {self.conn.trailing_data[0]!r}")
                return True
            elif event is h11.PAUSED:
                # Done with one response and no request left to pair the
                # next bytes with: any byte now is one too many.
                if self.conn.trailing_data[0]:
                    raise h11.RemoteProtocolError(f"bytes after the last response: {self.conn.trailing_data[0]!r}")
                return True


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    steps = sys.argv[2:]
    methods = [s[4:] for s in steps if s.startswith("req:")]
    read_for = 10.0
    for s in steps:
        if s.startswith("read:"):
            read_for = float(s[5:])
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = Reader(sock, methods)
    reader.start()
    send_failed = False
    for step in steps:
        kind, _, arg = step.partition(":")
        if kind == "send" and not send_failed:
            try:
                sock.sendall(bytes.fromhex(arg))
            except OSError as e:
                emit("send-failed", now(), e.strerror or repr(e))
                send_failed = True
        elif kind == "sleep":
            time.sleep(float(arg))
        elif kind == "await":
            with reader.done:
                reader.done.wait_for(lambda: reader.responses >= int(arg) or reader.finished, read_for)
        elif kind == "mark":
            emit("mark", now(), arg)
        elif kind == "shut_wr":
            sock.shutdown(socket.SHUT_WR)
        elif kind == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return 0
    with reader.done:
        reader.done.wait_for(lambda: reader.finished, read_for)
        if not reader.finished:
            emit("end", now(), "open")
            return 0
    sock.close()
    return 1 if reader.failed else 0


if __name__ == "__main__":
    sys.exit(main())
