"""Zero-OS private networks across nodes, as root, on a grid of network namespaces the tests
make (zosnet.py): each node holds a /24 of a /16, the nodes meshed with WireGuard (wireguard-go,
as this kernel has no module). Containers reach each other across nodes at their private
addresses; a node that is not a peer reaches nothing; outbound traffic is masqueraded and nothing
from the underlay starts a connection in (the diode); `network update` adds a peer live; a killed
wireguard-go is repaired by `system boot`; a public IPv6 from a router's adverts (radvd); bad
input refused with nothing half made; and nothing left afterwards."""
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import needs_root, release_only
from engine import wait_for
from zosnet import Underlay, keypair, tcp_server_cmd, wireguard_go_pids

pytestmark = [needs_root, pytest.mark.skipif(shutil.which("wireguard-go") is None, reason="wireguard-go is not installed")]

RANGE = "10.20.0.0/16"
PORT = 51820


@pytest.fixture
def grid(tmp_path):
    u = Underlay()
    yield u, tmp_path
    leaks = u.close()
    assert not leaks, f"left behind: {leaks}"


def peer_flag(node, key, subnet):
    return f"pubkey={key},subnet={subnet},endpoint={node.address}:{PORT}"


def create(node, priv, subnet, *peers, name="zosnet", rc=0):
    args = ["network", "create", "--driver", "zos", "--ip-range", RANGE, "--subnet", subnet, "--wg-private-key", priv,
            "--wg-listen-port", PORT]
    for p in peers:
        args += ["--peer", p]
    return node(*args, name, rc=rc)


def reaches(node, ctr, ip, timeout=2):
    return node("exec", ctr, "ping", "-c", "1", "-W", str(timeout), ip, rc=None).returncode == 0


def tcp_reply(node, ctr, ip, port):
    return node("exec", ctr, "sh", "-c", f"echo q | nc -w 2 {ip} {port}", rc=None).stdout.decode().strip()


@release_only  # traffic between three nodes; the sanitizers see these lifecycles in the tests below
def test_containers_reach_each_other_across_nodes_only_over_the_mesh(grid):
    u, tmp = grid
    a, b, c = (u.add_node(tmp, i) for i in (1, 2, 3))
    (pa, ka), (pb, kb), (pc, kc) = keypair(), keypair(), keypair()
    # A by flags; B from Zero-OS's NetResource JSON; C holds a /24 too, but A and B do not know it.
    create(a, pa, "10.20.3.0/24", peer_flag(b, kb, "10.20.4.0/24"))
    nr = {"name": "zosnet", "net_id": "zosnet", "ip_range": RANGE, "subnet": "10.20.4.0/24", "wg_private_key": pb,
          "wg_public_key": kb, "wg_listen_port": PORT,
          "peers": [{"subnet": "10.20.3.0/24", "wg_public_key": ka, "allowed_ips": ["10.20.3.0/24", "100.64.20.3/32"],
                     "endpoint": f"{a.address}:{PORT}"}]}
    (tmp / "nr.json").write_text(json.dumps(nr))
    b("network", "create", "--config", tmp / "nr.json")
    # C's key from standard input (kept out of argv, which every local user can read).
    c("network", "create", "--driver", "zos", "--ip-range", RANGE, "--subnet", "10.20.5.0/24", "--wg-private-key-file", "-",
      "--wg-listen-port", PORT, "--peer", peer_flag(a, ka, "10.20.3.0/24"), "--peer", peer_flag(b, kb, "10.20.4.0/24"), "zosnet",
      input=(pc + "\n").encode())
    for n in (a, b, c):
        n.image(tmp)
    a("run", "-d", "--name", "ca", "--network", "zosnet", "--ip", "10.20.3.7", "netbox", "sh", "-c", tcp_server_cmd(8080, "from-a"))
    b("run", "-d", "--name", "cb", "--network", "zosnet", "--ip", "10.20.4.7", "netbox", "sh", "-c", tcp_server_cmd(8080, "from-b"))
    c("run", "-d", "--name", "cc", "--network", "zosnet", "netbox", "sleep", "600")

    # A ↔ B at private addresses: ping and TCP, both ways.
    assert wait_for(lambda: reaches(a, "ca", "10.20.4.7"), timeout=15, what="A's container reaching B's")
    assert tcp_reply(a, "ca", "10.20.4.7", 8080) == "from-b"
    assert tcp_reply(b, "cb", "10.20.3.7", 8080) == "from-a"
    # Zero-OS's addresses: the ULA beside the IPv4 (net id "zosnet" → fd7a:6f73:6e65:<b3>::<b4>).
    ca = a.inspect("ca")["NetworkSettings"]["Networks"]["zosnet"]
    assert ca["IPAddress"] == "10.20.3.7" and ca["GlobalIPv6Address"] == "fd7a:6f73:6e65:3::7"
    assert "inet6 fd7a:6f73:6e65:3::7/64" in a("exec", "ca", "ip", "addr").stdout.decode()
    # The handshake, as WireGuard reports it.
    zb = a.zos()["peers"][0]
    assert zb["wg_public_key"] == kb and zb["last_handshake"] > time.time() - 120 and zb["rx_bytes"] > 0
    assert a.zos()["wg_address"] == "100.64.20.3/16"
    # C is no peer of A's or B's: nothing passes either way.
    assert not reaches(c, "cc", "10.20.3.7") and not reaches(c, "cc", "10.20.4.7")
    assert not reaches(a, "ca", c.inspect("cc")["NetworkSettings"]["Networks"]["zosnet"]["IPAddress"])

    # Out: masqueraded as the node. A server on the underlay sees A's own address.
    server = subprocess.Popen(["ip", "netns", "exec", u.ns, "python3", "-c",
                               "import socket, sys\n"
                               "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                               f"s.bind(('{u.gateway}', 9000)); s.listen(); s.settimeout(10)\n"
                               "print('ready', flush=True)\n"
                               "c, addr = s.accept(); print(addr[0], flush=True)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        a("exec", "ca", "sh", "-c", f"echo x | nc -w 2 {u.gateway} 9000")
        assert server.stdout.readline().strip() == a.address
    finally:
        server.kill()
        server.wait()
    # `network update`: C becomes a peer of A and B, live. Nothing restarts: the same
    # wireguard-go processes, the same container processes, and B's session stays.
    pids = {n.ns: (n.wg_pids(), n.inspect(ctr)["State"]["Pid"]) for n, ctr in ((a, "ca"), (b, "cb"))}
    a("network", "update", "zosnet", "--peer", peer_flag(b, kb, "10.20.4.0/24"), "--peer", peer_flag(c, kc, "10.20.5.0/24"))
    b("network", "update", "zosnet", "--peer", peer_flag(a, ka, "10.20.3.0/24"), "--peer", peer_flag(c, kc, "10.20.5.0/24"))
    assert wait_for(lambda: reaches(c, "cc", "10.20.3.7"), timeout=15, what="C's container reaching A's after the update")
    assert reaches(c, "cc", "10.20.4.7") and reaches(a, "ca", "10.20.4.7")
    assert {n.ns: (n.wg_pids(), n.inspect(ctr)["State"]["Pid"]) for n, ctr in ((a, "ca"), (b, "cb"))} == pids
    assert len(a.zos()["peers"]) == 3 - 1
    # Removing a peer cuts it off.
    a("network", "update", "zosnet", "--peer", peer_flag(b, kb, "10.20.4.0/24"))
    assert not reaches(c, "cc", "10.20.3.7") and reaches(a, "ca", "10.20.4.7")

    # In: the diode. The underlay routes A's /24 to A, and A routes it into the resource's
    # `public`: still nothing from outside starts a connection to a container...
    u.run("ip", "route", "add", "10.20.3.0/24", "via", a.address)
    a.host("ip", "route", "add", "10.20.3.0/24", "via", a.zos()["ndmz_address"])
    probe = ["python3", "-c", "import socket; s = socket.socket(); s.settimeout(2); s.connect(('10.20.3.7', 8080))"]
    assert u.run(*probe, check=False).returncode != 0, "a connection from the underlay reached a container"
    # ... nor to the node itself from the resource's side (where remote peers' traffic arrives).
    nr = next((a.run_root / "netns").glob("nr-*"))
    node = subprocess.run(["nsenter", f"--net={nr}", "python3", "-c",
                           f"import socket; s = socket.socket(); s.settimeout(2); s.connect(('100.127.0.1', {PORT + 1}))"],
                          capture_output=True, text=True)
    assert "timed out" in node.stderr, node.stderr
    # The same probe gets through once the resource's table is gone: it tests the diode, not routing.
    subprocess.run(["nsenter", f"--net={nr}", "nft", "delete", "table", "inet", "tiffin_nr"], check=True)
    assert u.run(*probe, check=False).returncode == 0, "the probe cannot reach the container even without the diode"


def test_a_killed_wireguard_is_repaired_by_system_boot(grid):
    u, tmp = grid
    a, b = u.add_node(tmp, 1), u.add_node(tmp, 2)
    (pa, ka), (pb, kb) = keypair(), keypair()
    create(a, pa, "10.20.3.0/24", peer_flag(b, kb, "10.20.4.0/24"))
    create(b, pb, "10.20.4.0/24", peer_flag(a, ka, "10.20.3.0/24"))
    for n in (a, b):
        n.image(tmp)
    a("run", "-d", "--name", "ca", "--network", "zosnet", "netbox", "sleep", "600")
    b("run", "-d", "--name", "cb", "--network", "zosnet", "--ip", "10.20.4.9", "netbox", "sleep", "600")
    assert wait_for(lambda: reaches(a, "ca", "10.20.4.9"), timeout=15, what="the mesh")
    [pid] = a.wg_pids()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not a.wg_pids(), what="wireguard-go to die")
    assert not reaches(a, "ca", "10.20.4.9")
    assert a.zos()["wg_state"].startswith("down")
    out = a.out("system", "boot")
    assert "network zosnet" in out
    [again] = a.wg_pids()
    assert again != pid
    assert wait_for(lambda: reaches(a, "ca", "10.20.4.9"), timeout=15, what="the mesh after the repair")
    # A second boot finds everything in place and leaves the process alone.
    a("system", "boot")
    assert a.wg_pids() == [again]

    # A reboot, as the kernel sees it: processes, namespaces and links gone. `system boot` makes
    # the resource again from the database, WireGuard's peers included; the container follows.
    a("stop", "-t", "1", "ca")
    os.kill(again, signal.SIGKILL)
    wait_for(lambda: not a.wg_pids(), what="wireguard-go to die")
    for ns in (a.run_root / "netns").iterdir():  # the resource's and the stopped container's
        subprocess.run(["umount", str(ns)], check=True)
        ns.unlink()
    for link in json.loads(a.host("ip", "-j", "link").stdout):
        if link["ifname"].startswith(("b-", "r-", "p-", "nd-")):
            a.host("ip", "link", "del", link["ifname"], check=False)
    a("system", "boot")
    zos = a.zos()
    assert zos["wg_state"] == "up" and [p["wg_public_key"] for p in zos["peers"]] == [kb]
    a("start", "ca")
    assert wait_for(lambda: reaches(a, "ca", "10.20.4.9"), timeout=15, what="the mesh after a reboot")


def test_public_ipv6_from_the_routers_adverts(grid):
    if shutil.which("radvd") is None:
        pytest.skip("radvd is not installed")
    u, tmp = grid
    a = u.add_node(tmp, 1)
    # The node's public bridge, and a router on it in a namespace of its own sending adverts.
    router = f"tfr-{u.tag}"
    subprocess.run(["ip", "netns", "add", router], check=True)
    radvd = None
    try:
        a.host("ip", "link", "add", "br-pub", "type", "bridge")
        a.host("ip", "link", "set", "br-pub", "up")
        subprocess.run(["ip", "link", "add", "rv0", "netns", router, "type", "veth", "peer", "name", "rv1", "netns", a.ns], check=True)
        a.host("ip", "link", "set", "rv1", "master", "br-pub", "up")
        r = lambda *args, check=True: subprocess.run(["ip", "netns", "exec", router, *args], check=check, capture_output=True, text=True)
        r("sysctl", "-w", "net.ipv6.conf.all.forwarding=1")
        r("ip", "link", "set", "lo", "up")
        r("ip", "link", "set", "rv0", "up")
        r("ip", "addr", "add", "2001:db8:7::1/64", "dev", "rv0", "nodad")
        conf = tmp / "radvd.conf"
        conf.write_text("interface rv0 {\n AdvSendAdvert on;\n MinRtrAdvInterval 3;\n MaxRtrAdvInterval 4;\n"
                        " prefix 2001:db8:7::/64 { AdvOnLink on; AdvAutonomous on; };\n};\n")
        radvd = subprocess.Popen(["ip", "netns", "exec", router, "radvd", "-n", "-C", str(conf), "-p", str(tmp / "radvd.pid"),
                                  "-m", "stderr"], stderr=subprocess.DEVNULL)
        (pa, _) = keypair()
        create(a, pa, "10.20.3.0/24")
        a.image(tmp)
        run = a("run", "-d", "--name", "pub6", "--network", "zosnet", "--public-ip6", "netbox", "sleep", "600")
        line = [l for l in run.stderr.decode().splitlines() if l.startswith("public IPv6: ")]
        assert line, run.stderr.decode()
        addr = line[0].split(": ", 1)[1]
        assert addr.startswith("2001:db8:7:0:")
        assert a.inspect("pub6")["NetworkSettings"]["PublicIPv6"] == [addr]
        # It answers there, from the router.
        assert r("busybox", "ping", "-6", "-c", "1", "-W", "2", addr, check=False).returncode == 0
        # The private network is there too, beside it.
        assert "10.20.3." in a("exec", "pub6", "ip", "addr", "show", "eth0").stdout.decode()
        a("rm", "-f", "pub6")
        assert "rv1" in a.host("ip", "-o", "link").stdout  # the node's own links untouched
    finally:
        a.host("ip", "link", "del", "rv1", check=False)
        a.host("ip", "link", "del", "br-pub", check=False)
        if radvd:
            radvd.terminate()
            radvd.wait()
        subprocess.run(["ip", "netns", "del", router])


def test_bad_input_is_refused_and_nothing_is_half_made(grid):
    u, tmp = grid
    a = u.add_node(tmp, 1)
    pa, ka = keypair()
    _, kb = keypair()
    wg_before = set(wireguard_go_pids())
    cases = [
        (["--ip-range", RANGE, "--subnet", "10.30.3.0/24"], "not inside the network's range"),
        (["--ip-range", "10.20.0.0/24", "--subnet", "10.20.0.0/24"], "must be an IPv4 /16"),
        (["--ip-range", RANGE, "--subnet", "10.20.3.0/25"], "must be an IPv4 /24"),
        (["--ip-range", RANGE, "--subnet", "10.20.3.0/24", "--peer", "pubkey=not-a-key,subnet=10.20.4.0/24"], "is not a WireGuard key"),
        (["--ip-range", RANGE, "--subnet", "10.20.3.0/24", "--peer", f"pubkey={kb},subnet=10.20.4.0/24"], "needs an endpoint"),
        (["--ip-range", RANGE, "--subnet", "10.20.3.0/24", "--peer", f"pubkey={kb},subnet=10.21.4.0/24,endpoint=192.0.2.1:1"],
         "inside the network's range"),
        (["--ip-range", RANGE, "--subnet", "10.20.3.0/24", "--peer", f"pubkey={kb},subnet=10.20.4.0/24,endpoint=somehost:1"],
         "not a numeric IP address"),
    ]
    for flags, message in cases:
        p = a("network", "create", "--driver", "zos", "--wg-private-key", pa, *flags, "bad", rc=None)
        assert p.returncode != 0 and message in p.stderr.decode(), (flags, p.stderr.decode())
    p = a("network", "create", "--driver", "zos", "--wg-private-key", "AAAA", "--ip-range", RANGE, "--subnet", "10.20.3.0/24", "bad",
          rc=None)
    assert p.returncode != 0 and "is not a WireGuard key" in p.stderr.decode()
    (tmp / "broken.json").write_text("{ not json")
    p = a("network", "create", "--config", tmp / "broken.json", rc=None)
    assert p.returncode != 0 and "not valid JSON" in p.stderr.decode()
    assert not [n for n in a.networks() if n["Name"] == "bad"]
    assert sorted(l["ifname"] for l in json.loads(a.host("ip", "-j", "link").stdout)) == ["eth0", "lo"]
    assert set(wireguard_go_pids()) == wg_before
    assert not list((a.run_root / "netns").glob("*")) if (a.run_root / "netns").exists() else True

    # A good one; then the same network id again (under another name) and an overlapping subnet.
    create(a, pa, "10.20.3.0/24", f"pubkey={kb},subnet=10.20.4.0/24,endpoint=192.0.2.1:{PORT}")
    p = a("network", "create", "--driver", "zos", "--net-id", "zosnet", "--ip-range", RANGE, "--subnet", "10.20.9.0/24",
          "--wg-private-key", pa, "other", rc=None)
    assert p.returncode != 0 and "already exists" in p.stderr.decode()
    p = a("network", "create", "--subnet", "10.20.3.0/24", "plain", rc=None)
    assert p.returncode != 0 and "overlaps" in p.stderr.decode()
    assert sorted(n["Name"] for n in a.networks() if n["Name"] not in ("tiffin", "bridge", "host", "none")) == ["zosnet"]
    assert len(a.wg_pids()) == 1
    # Containers: an address outside the node's /24, ports (there are none on a private network).
    a.image(tmp)
    p = a("run", "--rm", "--network", "zosnet", "--ip", "10.20.4.5", "netbox", "true", rc=None)
    assert p.returncode != 0 and "is not in network zosnet's 10.20.3.0/24" in p.stderr.decode()
    p = a("run", "--rm", "--network", "zosnet", "-p", "8080:80", "netbox", "true", rc=None)
    assert p.returncode != 0 and "publish no ports" in p.stderr.decode()
    p = a("network", "update", "zosnet", "--peer", f"pubkey={ka},subnet=10.20.4.0/24,endpoint=192.0.2.1:1", rc=None)
    assert p.returncode != 0 and "this node's own" in p.stderr.decode()
    # The private key is stored 0600 and shown nowhere.
    keys = list((a.root / "networks").glob("*.key"))
    assert len(keys) == 1 and (keys[0].stat().st_mode & 0o777) == 0o600
    assert pa not in a.out("network", "inspect", "zosnet")
    a("network", "rm", "zosnet")
    assert not list((a.root / "networks").glob("*.key"))
    assert not a.wg_pids()
