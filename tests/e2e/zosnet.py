"""A small grid for the Zero-OS network tests and benchmark, as root and only inside namespaces
it makes: an "underlay" namespace with a bridge, and nodes — each a network namespace joined
to that bridge by a veth, with a tiffin engine of its own (--root, --run-root) whose commands
run inside the node's namespace (nsenter --net: the mount namespace stays the host's, so the
engine's mounts are the same for every command)."""
import glob
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from conftest import TIFFIN
from engine import Node
from oci import busybox_rootfs

NET_APPLETS = ["ip", "ping", "ping6", "nc", "wget", "httpd", "mkdir", "sed", "seq", "stty", "cut", "tr"]


def sh(*args, check=True, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, check=check, **kw)


class Underlay:
    """The nodes' shared link: netns `tfu-<tag>` with bridge br0 at <prefix>.254/24, which also
    stands for "the internet" (a server there sees what leaves a node)."""

    def __init__(self, third_octet=213):
        tag = uuid.uuid4().hex[:6]
        self.ns = f"tfu-{tag}"
        self.prefix = f"192.168.{third_octet}"
        self.gateway = f"{self.prefix}.254"
        self.tag = tag
        self.nodes = []
        sh("ip", "netns", "add", self.ns)
        self.run("ip", "link", "add", "br0", "type", "bridge")
        self.run("ip", "link", "set", "br0", "up")
        self.run("ip", "link", "set", "lo", "up")
        self.run("ip", "addr", "add", f"{self.gateway}/24", "dev", "br0")

    def run(self, *args, check=True, timeout=30):
        return sh("ip", "netns", "exec", self.ns, *args, check=check, timeout=timeout)

    def add_node(self, tmp: Path, index: int):
        n = ZosNode(tmp / f"node{index}", self, index)
        self.nodes.append(n)
        return n

    def close(self):
        leaks = []
        for n in self.nodes:
            leaks += n.close()
        sh("ip", "netns", "del", self.ns, check=False)
        return leaks


class ZosNode(Node):
    """A node: netns `tfn<index>-<tag>` at <prefix>.<index> on the underlay."""

    def __init__(self, tmp: Path, underlay: Underlay, index: int):
        tmp.mkdir(parents=True)
        super().__init__(tmp)
        self.index = index
        self.ns = f"tfn{index}-{underlay.tag}"
        self.address = f"{underlay.prefix}.{index}"
        self.underlay = underlay
        veth = f"tfv{index}{underlay.tag}"
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", veth, "netns", underlay.ns, "type", "veth", "peer", "name", "eth0", "netns", self.ns)
        underlay.run("ip", "link", "set", veth, "master", "br0", "up")
        self.host("ip", "addr", "add", f"{self.address}/24", "dev", "eth0")
        self.host("ip", "link", "set", "eth0", "up")
        self.host("ip", "link", "set", "lo", "up")
        self.host("ip", "route", "add", "default", "via", underlay.gateway)
        self.prefix = ("nsenter", f"--net=/run/netns/{self.ns}")

    def host(self, *args, check=True, timeout=30):
        """A command in the node's own namespace (not a container's)."""
        return sh("ip", "netns", "exec", self.ns, *args, check=check, timeout=timeout)

    def image(self, tmp: Path):
        rootfs = busybox_rootfs(tmp / f"netbox{self.index}")
        for a in NET_APPLETS:
            (rootfs / "bin" / a).symlink_to("busybox")
        (rootfs / "etc" / "group").write_text("root:x:0:\n")
        self("import", rootfs, "netbox", "--cmd", "sh")
        return "netbox"

    def zos(self, name="zosnet"):
        return json.loads(self.out("network", "inspect", name))[0]["Zos"]

    def wg_ifaces(self):
        """The WireGuard interface names of this node's zos networks."""
        if not (self.root / "tiffin.db").exists():
            return set()
        return {self.zos(n["Name"])["wg_interface"] for n in self.networks() if n.get("Driver") == "zos"}

    def wg_pids(self):
        """wireguard-go processes of this node's networks."""
        names = self.wg_ifaces()
        return sorted(pid for pid, name in wireguard_go_pids().items() if name in names)

    def close(self):
        """Removes containers, networks and the namespace; returns what was left behind."""
        ifaces = self.wg_ifaces()
        leaks = []
        try:
            for cid in self.container_ids():
                self("rm", "-f", cid, rc=None)
            for n in self.networks():
                if n.get("Driver") == "zos":
                    self("network", "rm", n["Name"], rc=None)
            leaks += self.teardown()
            links = json.loads(self.host("ip", "-j", "link", "show").stdout)
            leaks += [f"link {l['ifname']} in {self.ns}" for l in links if l["ifname"] not in ("lo", "eth0")]
            leaks += [f"wireguard-go {pid} ({name})" for pid, name in wireguard_go_pids().items() if name in ifaces]
            leaks += [f"socket {s}" for s in glob.glob("/var/run/wireguard/*.sock") if Path(s).stem in ifaces]
            leaks += [f"netns {p}" for p in glob.glob(str(self.run_root / "netns" / "*"))]
        finally:
            for pid, name in wireguard_go_pids().items():
                if name in ifaces:
                    os.kill(pid, 9)
            sh("ip", "netns", "del", self.ns, check=False)
            shutil.rmtree(self.run_root, ignore_errors=True)
        return leaks


def wireguard_go_pids():
    """{pid: interface} of every wireguard-go process on the host."""
    out = {}
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            args = Path(cmdline).read_bytes().split(b"\0")
        except OSError:
            continue
        if args and os.path.basename(args[0].decode(errors="replace")) == "wireguard-go":
            out[int(cmdline.split("/")[2])] = args[-2].decode() if args[-1] == b"" else args[-1].decode()
    return out


def keypair():
    """A WireGuard key pair from `tiffin network keygen`."""
    out = subprocess.run([TIFFIN, "network", "keygen"], capture_output=True, text=True, check=True).stdout
    fields = dict(line.split(": ", 1) for line in out.splitlines())
    return fields["private_key"], fields["public_key"]


def tcp_server_cmd(port, reply):
    """A container command that answers `reply` to every TCP connection on `port`."""
    return f"while true; do echo {reply} | nc -l -p {port}; done"

