"""Network namespaces for tests: a small internet with two NATs in it.

:class:`NatNetwork` builds, with ``ip netns``, veth pairs and nftables,

```
 home-a (192.168.201.2)            home-b (192.168.202.2)
    │ lan                               │ lan
 nat-a  192.168.201.1 │ 10.200.1.2   nat-b  192.168.202.1 │ 10.200.2.2
                      │ wan                               │ wan
                 public: 10.200.1.1, 10.200.2.1, services on 10.200.0.1 (lo)
                      │ default route
                 void: discards silently
```

Each ``nat-*`` namespace is a router that masquerades its LAN with a fresh
random port for every new flow (``fully-random``: a symmetric NAT) and drops
every inbound packet that does not answer a flow from inside, on the
router itself and forwarded to the LAN. Two peers behind such NATs find no
direct path: the port a peer learns by STUN belongs to the flow to the STUN
server only. ``public`` routes between the two NATs and holds the services.

Every name carries a per-run suffix; addresses exist only inside these
namespaces (the host's interfaces and routes are never touched); veth pairs
vanish with their namespaces. Tools run with ``ip netns exec``;
:meth:`Namespace.run` runs Python code in a thread that joined the namespace
(``setns``), so sockets it opens and processes it starts live there.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["SERVICE_IP", "Namespace", "NatNetwork", "namespaces_available"]

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
SERVICE_IP = "10.200.0.1"
"""Where services in the public namespace listen."""
RUN_TIMEOUT = 60.0
_COMMAND_TIMEOUT = 10.0


def _ip(*args: str) -> None:
    """One ``ip`` command; a failure raises with its stderr."""
    done = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=_COMMAND_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def namespaces_available() -> str | None:
    """None if this machine can build :class:`NatNetwork`, else why not."""
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} missing: run make system-deps"
    probe = f"kith-probe-{secrets.token_hex(4)}"
    try:
        _ip("netns", "add", probe)
    except (RuntimeError, OSError) as exc:
        return f"cannot create network namespaces (needs root or CAP_NET_ADMIN): {exc}"
    _ip("netns", "del", probe)
    return None


def _enter(name: str) -> None:
    """Move the calling thread into namespace ``name``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name} failed")
    finally:
        os.close(fd)


class Namespace:
    """One network namespace, with its loopback up."""

    def __init__(self, name: str) -> None:
        self.name = name
        _ip("netns", "add", name)
        self._thread = ThreadPoolExecutor(1, name, initializer=_enter, initargs=(name,))
        self.ip("link", "set", "lo", "up")

    def ip(self, *args: str) -> None:
        """``ip -n NAME ARGS``."""
        _ip("-n", self.name, *args)

    def exec(self, *args: str, stdin: str | None = None) -> None:
        """``ip netns exec NAME ARGS``; a failure raises with its stderr."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.name, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=_COMMAND_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"in {self.name}: {' '.join(args)}: {done.stderr.strip()}")

    def command(self, *args: str) -> list[str]:
        """The argument list that runs ``args`` inside this namespace."""
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, call: Callable[[], T], timeout: float = RUN_TIMEOUT) -> T:
        """``call()`` in this namespace's thread (sockets and children live here)."""
        return self._thread.submit(call).result(timeout)

    def forward(self) -> None:
        """Route between interfaces (a router)."""
        self.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

    def pids(self) -> list[int]:
        """The processes living in this namespace (all started by this run)."""
        done = subprocess.run(
            ["ip", "netns", "pids", self.name],
            capture_output=True,
            text=True,
            timeout=_COMMAND_TIMEOUT,
            check=False,
        )
        return [int(pid) for pid in done.stdout.split()]

    def close(self) -> None:
        """Kill what still runs here, leave and delete the namespace (its veth
        ends go with it)."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._thread.shutdown(wait=True, cancel_futures=True)
        subprocess.run(
            ["ip", "netns", "del", self.name],
            capture_output=True,
            timeout=_COMMAND_TIMEOUT,
            check=False,
        )


def _nat_rules() -> str:
    """nftables for a NAT router: symmetric masquerade, no unsolicited inbound."""
    return """
table ip kith_nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan" masquerade fully-random
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        iifname "lan" oifname "wan" accept
    }
    chain input {
        type filter hook input priority filter; policy drop;
        ct state established,related accept
        iifname { "lo", "lan" } accept
    }
}
"""


class NatNetwork:
    """The public namespace, two NAT routers and a home namespace behind each.

    Attributes:
        public: Routes between the NATs; services listen on :data:`SERVICE_IP`.
        homes: ``{"a": namespace, "b": namespace}``, one per user, each
            behind its own NAT.
        nats: The two routers, by the same names.
        wan: The public address of each NAT.
    """

    def __init__(self, names: str = "ab") -> None:
        self.suffix = secrets.token_hex(4)
        self._made: list[Namespace] = []
        self.homes: dict[str, Namespace] = {}
        self.nats: dict[str, Namespace] = {}
        self.wan: dict[str, str] = {}
        try:
            self.public = self._namespace("pub")
            self.public.ip("addr", "add", f"{SERVICE_IP}/32", "dev", "lo")
            self.public.forward()
            self._void()
            for index, name in enumerate(names, start=1):
                self._site(name, index)
        except BaseException:
            self.close()
            raise

    def _namespace(self, role: str) -> Namespace:
        namespace = Namespace(f"kith-{role}-{self.suffix}")
        self._made.append(namespace)
        return namespace

    def _void(self) -> None:
        """The rest of the internet: public's default route leads to a router
        that silently discards everything (as packets to private addresses
        of other networks are lost, with no error to the sender)."""
        self.void = void = self._namespace("void")
        _link(self.public, "void", void, "eth0")
        self.public.ip("addr", "add", "10.200.255.1/30", "dev", "void")
        void.ip("addr", "add", "10.200.255.2/30", "dev", "eth0")
        self.public.ip("route", "add", "default", "via", "10.200.255.2")
        void.ip("route", "add", "blackhole", "default")
        void.forward()

    def _site(self, name: str, index: int) -> None:
        """A NAT router on 10.200.INDEX.0/24 and a home on 192.168.(200+INDEX).0/24."""
        nat, home = self._namespace(f"nat{name}"), self._namespace(f"home{name}")
        wan, lan = f"10.200.{index}", f"192.168.{200 + index}"
        _link(self.public, f"to{name}", nat, "wan")
        self.public.ip("addr", "add", f"{wan}.1/24", "dev", f"to{name}")
        nat.ip("addr", "add", f"{wan}.2/24", "dev", "wan")
        nat.ip("route", "add", "default", "via", f"{wan}.1")
        _link(nat, "lan", home, "eth0")
        nat.ip("addr", "add", f"{lan}.1/24", "dev", "lan")
        home.ip("addr", "add", f"{lan}.2/24", "dev", "eth0")
        home.ip("route", "add", "default", "via", f"{lan}.1")
        nat.forward()
        nat.exec("nft", "-f", "-", stdin=_nat_rules())
        self.nats[name], self.homes[name], self.wan[name] = nat, home, f"{wan}.2"

    def close(self) -> None:
        """Delete every namespace (and so every veth); safe to call twice."""
        while self._made:
            self._made.pop().close()


def _link(left: Namespace, left_name: str, right: Namespace, right_name: str) -> None:
    """A veth pair between two namespaces, both ends up."""
    left.ip(
        "link", "add", left_name, "type", "veth", "peer", "name", right_name, "netns", right.name
    )
    left.ip("link", "set", left_name, "up")
    right.ip("link", "set", right_name, "up")
