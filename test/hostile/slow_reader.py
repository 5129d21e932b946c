"""A client that asks and never reads, with a small receive window (SO_RCVBUF, which Node
cannot set): the hostile-client suite's slow reader (test/hostile).

    python3 slow_reader.py HOST PORT PATH GROUP... [--hold SECONDS]

Each GROUP is COUNTxDEPTH: COUNT connections that each send DEPTH GET PATH requests back to
back (pipelined when DEPTH > 1), each from a loopback address of its own (127.1.0.1…). It
reads nothing, prints "ready" once every request is sent, holds the connections until SECONDS
(default 60) pass or its stdin closes, then prints how many of each group's connections the
server had closed ("closed 3/150 8/8") and exits. Loopback only.
"""

import select
import socket
import sys
import time

RECEIVE_WINDOW_BYTES = 4096


def open_connection(host: str, port: int, index: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Before connect: the window is agreed in the handshake.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_WINDOW_BYTES)
    # One loopback address per connection: the edge's per-client cap is not what is under test.
    sock.bind((f"127.1.{index // 250}.{index % 250 + 1}", 0))
    sock.connect((host, port))
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closed or reset the connection: its FIN or RST is behind the unread
    data, so read to it (what the server still had queued arrives within milliseconds on
    loopback; a pause of 50 ms means the connection is open and idle)."""
    sock.settimeout(0.05)
    try:
        while sock.recv(65536):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def main() -> None:
    arguments = sys.argv[1:]
    hold_seconds = 60.0
    if "--hold" in arguments:
        at = arguments.index("--hold")
        hold_seconds = float(arguments[at + 1])
        del arguments[at : at + 2]
    host, port, path = arguments[0], int(arguments[1]), arguments[2]
    groups = [tuple(int(part) for part in group.split("x")) for group in arguments[3:]]
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    connections: list[list[socket.socket]] = []
    index = 0
    for count, depth in groups:
        group = []
        for _ in range(count):
            sock = open_connection(host, port, index)
            index += 1
            sock.sendall(request * depth)
            group.append(sock)
        connections.append(group)
    print("ready", flush=True)
    deadline = time.monotonic() + hold_seconds
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sys.stdin], [], [], 0.2)
        if readable and not sys.stdin.readline():
            break
    closed = [sum(1 for sock in group if closed_by_server(sock)) for group in connections]
    print("closed " + " ".join(f"{n}/{len(group)}" for n, group in zip(closed, connections)), flush=True)
    for group in connections:
        for sock in group:
            sock.close()


if __name__ == "__main__":
    main()
