"""What ``make run`` says before it starts the server: the links to open, or why it cannot start.

``python -m chatplatform.devrun links HOST PORT`` checks the port first: when
something already listens there it prints one line saying so, with the fix
(``make run PORT=...``), and exits 1, so the reader is not left with daphne's
CRITICAL traceback under links that do not work. Otherwise it prints the demo
links. A wildcard HOST (``0.0.0.0``, ``::``) is not an address a browser can
open: the links then name this machine's address on its network, the one
other devices use (``make run`` allows every Host header in that case, DEBUG only).

``python -m chatplatform.devrun address HOST`` prints the host a link should
name (for the demo brand's allowed origin). Standard library only: it runs
before Django is set up.
"""

import errno
import socket
import sys

WILDCARDS = ("0.0.0.0", "::", "[::]", "")
DEMO_PASSWORD_NOTE = "  Password for all three demo sign-ins: demo-pass-123"


def link_host(host: str) -> str:
    """The host name for a link to a server bound to ``host``: this machine's network address for a wildcard."""
    if host not in WILDCARDS:
        return f"[{host}]" if ":" in host and not host.startswith("[") else host
    try:
        # A UDP "connection" sends nothing; it only asks the kernel which local address routes outwards.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1 (RFC 5737): never a real peer
            address = probe.getsockname()[0]
    except OSError:
        address = ""
    if address and not address.startswith("127."):
        return address
    return socket.gethostname() or "127.0.0.1"


def port_in_use(host: str, port: int) -> bool:
    """Whether binding ``host``:``port`` fails because something already listens there."""
    bind_host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as daphne's listener: TIME_WAIT is no conflict
        try:
            probe.bind((bind_host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def links(host: str, port: int) -> list[str]:
    base = f"http://{link_host(host)}:{port}"
    lines = [
        "",
        f"  Demo shop (visitor):   {base}/demo/",
        f"  Expert dashboard:      {base}/dashboard/   (alice or bob)",
        f"  Community managers:    {base}/admin/       (carol)",
        DEMO_PASSWORD_NOTE,
    ]
    if host in WILDCARDS:
        lines.append(f"  (listening on every address: on this machine http://127.0.0.1:{port}/demo/ works too)")
    return [*lines, ""]


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "address":
        print(link_host(argv[1]))
        return 0
    if len(argv) != 3 or argv[0] != "links" or not argv[2].isdigit():
        print("usage: python -m chatplatform.devrun links HOST PORT | address HOST", file=sys.stderr)
        return 2
    host, port = argv[1], int(argv[2])
    if port_in_use(host, port):
        print(f"Port {port} is already in use on {host or '*'} (another server?): stop it, or pick another port, "
              f"e.g. make run PORT={port + 1}", file=sys.stderr)
        return 1
    print("\n".join(links(host, port)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
