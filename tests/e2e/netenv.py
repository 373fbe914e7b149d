"""Network helpers for the engine's e2e tests and the net benchmark, as root and only inside
namespaces and links they make: a "client" namespace wired to the host by a veth (standing for
a machine outside the host), an inventory of what tiffin leaves in the kernel, and the iptables
FORWARD policy dockerd may have changed. (The upstream DNS server of the tests' own is
dnsutil.FakeUpstream.)"""
import json
import os
import subprocess
import uuid


def sh(*args, check=True, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, check=check, **kw)


class ClientNetns:
    """`ip netns` namespace linked to the host by a veth pair with a /30 of its own; the host end
    stands for one of the host's own addresses."""

    def __init__(self, third_octet=None):
        tag = uuid.uuid4().hex[:6]
        self.name = f"tfcl-{tag}"
        self.host_if, self.peer_if = f"tfch{tag}", f"tfcp{tag}"
        n = third_octet if third_octet is not None else int(tag[:2], 16)
        self.host_ip, self.client_ip = f"172.31.{n}.1", f"172.31.{n}.2"
        sh("ip", "netns", "add", self.name)
        try:
            sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if)
            sh("ip", "link", "set", self.peer_if, "netns", self.name)
            sh("ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            sh("ip", "link", "set", self.host_if, "up")
            self.run("ip", "addr", "add", f"{self.client_ip}/30", "dev", self.peer_if)
            self.run("ip", "link", "set", self.peer_if, "up")
            self.run("ip", "link", "set", "lo", "up")
            self.run("ip", "route", "add", "default", "via", self.host_ip)
        except Exception:
            self.close()
            raise

    def run(self, *args, check=True, timeout=30):
        return sh("ip", "netns", "exec", self.name, *args, check=check, timeout=timeout)

    def close(self):
        sh("ip", "link", "del", self.host_if, check=False)
        sh("ip", "netns", "del", self.name, check=False)


def tiffin_links():
    """Names of the host's links that tiffin makes: bridges tf-*, veth host ends tf<id><n>."""
    out = json.loads(sh("ip", "-j", "link", "show").stdout)
    return sorted(l["ifname"] for l in out if l["ifname"].startswith("tf") and not l["ifname"].startswith(("tfch", "tfcp")))


def nft_tables():
    out = sh("nft", "list", "tables", check=False).stdout.split()
    return [f"{out[i + 1]} {out[i + 2]}" for i in range(0, len(out) - 2, 3) if out[i] == "table" and out[i + 2].startswith("tiffin")]


def nft_text(table):
    return sh("nft", "list", "table", *table.split(), check=False).stdout


def forwarding_guard():
    """What dockerd changes and tiffin's forwarding needs: the iptables FORWARD policy. Returns a
    function that puts it back."""
    before = sh("iptables", "-S", "FORWARD", check=False).stdout
    sh("iptables", "-P", "FORWARD", "ACCEPT", check=False)

    def restore():
        if "-P FORWARD DROP" in before:
            sh("iptables", "-P", "FORWARD", "DROP", check=False)
    return restore


class HostNetState:
    """What a dockerd with networking changes on the host: iptables rules, chains and policies
    (v4 and v6), ip_forward, its docker0 bridge. restore() puts them back as they were."""

    def __init__(self):
        self.v4 = sh("iptables-save", check=False).stdout
        self.v6 = sh("ip6tables-save", check=False).stdout
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            self.forward = f.read()

    def restore(self):
        # A table that had nothing was not saved: an empty section of it resets it (dockerd
        # fills nat).
        for tool, saved in (("iptables", self.v4), ("ip6tables", self.v6)):
            empty = "".join(f"*{t}\nCOMMIT\n" for t in ("filter", "nat", "mangle", "raw") if f"*{t}\n" not in saved)
            subprocess.run([f"{tool}-restore"], input=saved + empty, text=True, capture_output=True)
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write(self.forward)
        sh("ip", "link", "del", "docker0", check=False)
