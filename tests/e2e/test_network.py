"""Container networks end to end, as root, only inside bridges and namespaces the tests make:
names between containers, published ports from a client namespace, from 127.0.0.1 and from
containers (hairpin), UDP, --internal, port collisions, many containers on one network,
connect/disconnect, the /etc files, kill -9 during `run -p`, and `system boot`."""
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import TIFFIN, needs_root, release_only
from engine import Node, node, wait_for  # noqa: F401 (fixtures)
from dnsutil import FakeUpstream
from netenv import ClientNetns, forwarding_guard, nft_tables, nft_text, sh, tiffin_links
from oci import busybox_rootfs

pytestmark = needs_root

NET_APPLETS = ["ip", "ping", "nc", "wget", "httpd", "nslookup", "mkdir", "ifconfig", "route", "sed", "seq"]


@pytest.fixture
def image(node, tmp_path):
    rootfs = busybox_rootfs(tmp_path / "netbox")
    for a in NET_APPLETS:
        (rootfs / "bin" / a).symlink_to("busybox")
    (rootfs / "etc" / "group").write_text("root:x:0:\n")
    node("import", rootfs, "netbox", "--cmd", "sh")
    return "netbox"


@pytest.fixture
def forwarding():
    restore = forwarding_guard()
    yield
    restore()


@pytest.fixture
def client(forwarding):
    c = ClientNetns()
    yield c
    c.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def web(node, image, *flags, name="web", text="hello"):
    """A detached busybox httpd answering `text` on port 80."""
    node("run", "-d", "--name", name, *flags, image, "sh", "-c",
         f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 80 -h /www")
    wait_for(lambda: node("exec", name, "wget", "-qO-", "http://127.0.0.1/", rc=None).returncode == 0, what=f"{name}'s httpd")
    return name


def http_get(url, timeout=5):
    return sh("curl", "-s", "--max-time", str(timeout), url, check=False).stdout.strip()


def in_ctr(node, image, *flags_and_cmd, rc=0):
    return node("run", "--rm", *flags_and_cmd[:-1], image, "sh", "-c", flags_and_cmd[-1], rc=rc).stdout.decode()


def test_containers_reach_each_other_by_name_and_alias(node, image):
    node("network", "create", "app")
    web(node, image, "--network", "app", "--network-alias", "www")
    for target in ["web", "www", "web.", node.inspect("web")["Id"][:12]]:
        out = in_ctr(node, image, "--network", "app", f"wget -qO- http://{target}/")
        assert out.strip() == "hello", target
    assert "0% packet loss" in in_ctr(node, image, "--network", "app", "ping -c1 -W2 web")
    # Another network does not see it (docker's isolation between networks).
    node("network", "create", "other")
    in_ctr(node, image, "--network", "other", "nslookup web || exit 9", rc=9)
    node("rm", "-f", "web")
    node("network", "rm", "app", "other")


@pytest.fixture
def upstream():
    u = FakeUpstream()
    yield u
    u.close()


def test_outside_names_are_forwarded_and_internal_has_no_way_out(node, image, upstream, client):
    node.dns_upstream = f"127.0.0.1:{upstream.port}"
    out = in_ctr(node, image, "nslookup outside.test")
    assert "192.0.2.7" in out and "outside.test" in upstream.seen
    # Default network: the client namespace (another machine) is reachable through the host.
    assert "0% packet loss" in in_ctr(node, image, f"ping -c1 -W2 {client.client_ip}")
    node("network", "create", "--internal", "sealed")
    queries = len(upstream.seen)
    in_ctr(node, image, "--network", "sealed", f"ping -c1 -W2 {client.client_ip} && exit 0 || exit 7", rc=7)
    in_ctr(node, image, "--network", "sealed", "nslookup outside.test && exit 0 || exit 8", rc=8)
    assert len(upstream.seen) == queries, "an internal network's names never leave"
    web(node, image, "--network", "sealed", name="inner")
    # Inside it, names and traffic work. (Once, in CI, the first try was refused by 10.89.0.2 —
    # the address a --rm container above had just released: a few tries, so a transient there
    # does not fail the suite; the claim is that it works, within seconds.)
    wait_for(lambda: in_ctr(node, image, "--network", "sealed", "wget -qO- http://inner/ || true").strip() == "hello",
             timeout=15, what="a container reaching inner by name on the internal network")
    node("rm", "-f", "inner")


def test_published_port_from_client_host_and_containers(node, image, client):
    port = free_port()
    web(node, image, "-p", f"{port}:80")
    assert node.out("port", "web") == f"80/tcp -> 0.0.0.0:{port}"
    # From another machine (the client namespace) to one of the host's addresses.
    assert client.run("curl", "-s", "--max-time", "5", f"http://{client.host_ip}:{port}/").stdout.strip() == "hello"
    # From the host itself: loopback and its own address.
    assert http_get(f"http://127.0.0.1:{port}/") == "hello"
    assert http_get(f"http://{client.host_ip}:{port}/") == "hello"
    # From a container (hairpin through the host's address), and the container to itself.
    assert in_ctr(node, image, f"wget -qO- http://{client.host_ip}:{port}/").strip() == "hello"
    assert node.out("exec", "web", "wget", "-qO-", f"http://{client.host_ip}:{port}/") == "hello"
    ns = node.inspect("web")["NetworkSettings"]
    assert ns["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    net = ns["Networks"]["tiffin"]
    assert net["IPAddress"] and net["Gateway"] and net["MacAddress"].startswith("02:42:")
    node("rm", "-f", "web")
    assert http_get(f"http://127.0.0.1:{port}/", timeout=2) == "", "the rule went with the container"


def test_publish_all_takes_the_images_ports(node, image, tmp_path):
    rootfs = tmp_path / "netbox"  # the image fixture's root filesystem, imported again with a port
    node("import", rootfs, "exposed", "--cmd", "sh", "--expose", "80/tcp")
    web(node, "exposed", "-P", name="allports")
    line = node.out("port", "allports")
    assert line.startswith("80/tcp -> 0.0.0.0:"), line
    assert http_get(f"http://127.0.0.1:{line.rsplit(':', 1)[1]}/") == "hello"
    node("rm", "-f", "allports")


def test_udp_and_random_host_ports(node, image):
    node("run", "-d", "--name", "udp", "-p", "127.0.0.1::5000/udp", image, "sleep", "300")
    line = node.out("port", "udp", "5000/udp")
    host, port = line.rsplit(":", 1)
    assert host == "127.0.0.1" and 49153 <= int(port) <= 65535
    # Debian's busybox nc has no UDP: the listener runs in the container's namespace from here.
    pid = node.inspect("udp")["State"]["Pid"]
    listener = subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c",
                                 "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 5000));"
                                 "print('ready', flush=True); d, peer = s.recvfrom(100); s.sendto(d.upper(), peer)"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout.readline().strip() == "ready"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(b"over-udp", ("127.0.0.1", int(port)))
        assert s.recvfrom(100)[0] == b"OVER-UDP", "the answer came back through the DNAT"
        s.close()
    finally:
        listener.kill()
        listener.wait()
    node("rm", "-f", "udp")


def test_host_port_in_use_is_a_clear_error_with_nothing_left(node, image):
    busy = socket.socket()
    busy.bind(("0.0.0.0", 0))
    busy.listen()
    port = busy.getsockname()[1]
    links = tiffin_links()
    p = node("run", "-d", "--name", "clash", "-p", f"{port}:80", image, "sleep", "60", rc=125)
    assert b"in use on the host" in p.stderr
    assert node.container_ids() == []
    wait_for(lambda: set(tiffin_links()) <= set(links), timeout=10, what="no veth left")
    default = json.loads(node.out("network", "inspect", "tiffin"))[0]
    assert default["Containers"] == {}
    busy.close()
    # Two containers cannot publish one port.
    port2 = free_port()
    node("run", "-d", "--name", "a", "-p", f"{port2}:80", image, "sleep", "60")
    assert b"already published" in node("run", "-d", "--name", "b", "-p", f"{port2}:80", image, "sleep", "60", rc=125).stderr
    node("rm", "-f", "a")


def test_fixed_addresses_and_etc_files(node, image):
    node("network", "create", "--subnet", "10.123.0.0/24", "--gateway", "10.123.0.254", "fixed")
    node("run", "-d", "--name", "f1", "--network", "fixed", "--ip", "10.123.0.77", "--mac-address", "02:aa:bb:cc:dd:ee",
         "--hostname", "box", "--add-host", "db:10.9.9.9", "--dns-search", "example.test", image, "sleep", "60")
    ip = node.out("exec", "f1", "ip", "-o", "-4", "addr", "show", "eth0")
    assert "10.123.0.77/24" in ip
    assert "02:aa:bb:cc:dd:ee" in node.out("exec", "f1", "cat", "/sys/class/net/eth0/address")
    assert "default via 10.123.0.254" in node.out("exec", "f1", "ip", "route")
    hosts = node.out("exec", "f1", "cat", "/etc/hosts")
    assert "10.123.0.77\tbox" in hosts and "10.9.9.9\tdb" in hosts
    resolv = node.out("exec", "f1", "cat", "/etc/resolv.conf")
    assert "nameserver 10.123.0.254" in resolv and "search example.test" in resolv
    assert node.out("exec", "f1", "cat", "/etc/hostname") == "box"
    assert b"already in use" in node("run", "--rm", "--network", "fixed", "--ip", "10.123.0.77", image, "true", rc=125).stderr
    assert b"not in network" in node("run", "--rm", "--network", "fixed", "--ip", "10.124.0.5", image, "true", rc=125).stderr
    node("rm", "-f", "f1")
    clash = node("network", "create", "--subnet", "10.123.0.128/25", "clash", rc=None)
    assert clash.returncode != 0 and b"overlaps network fixed" in clash.stderr
    node("network", "rm", "fixed")


def test_connect_and_disconnect_a_running_container(node, image):
    node("network", "create", "one")
    node("network", "create", "two")
    web(node, image, "--network", "one", name="srv")
    node("network", "connect", "--alias", "api", "two", "srv")
    assert "eth1" in node.out("exec", "srv", "ip", "-o", "link")
    assert in_ctr(node, image, "--network", "two", "wget -qO- http://api/").strip() == "hello"
    node("network", "disconnect", "two", "srv")
    assert "eth1" not in node.out("exec", "srv", "ip", "-o", "link")
    in_ctr(node, image, "--network", "two", "wget -T 2 -qO- http://api/ || exit 4", rc=4)
    assert b"active endpoints" in node("network", "rm", "one", rc=None).stderr
    node("rm", "-f", "srv")
    node("network", "rm", "one", "two")


@release_only  # scale: the smaller tests take the same paths under the sanitizers
def test_fifty_containers_on_one_network(node, image):
    node("network", "create", "many")
    for i in range(50):
        node("run", "-d", "--name", f"m{i}", "--network", "many", image, "sleep", "300")
    members = json.loads(node.out("network", "inspect", "many"))[0]["Containers"]
    addresses = [c["IPv4Address"] for c in members.values()]
    assert len(addresses) == 50 and len(set(addresses)) == 50
    assert "0% packet loss" in node.out("exec", "m0", "ping", "-c1", "-W2", "m49")
    for i in range(50):
        node("rm", "-f", f"m{i}")
    assert json.loads(node.out("network", "inspect", "many"))[0]["Containers"] == {}
    node("network", "rm", "many")


def test_kill_9_during_run_with_ports_then_rm_leaves_nothing(node, image, forwarding):
    node("run", "--rm", image, "true")  # the default network exists, as it would on a busy node
    links_before = tiffin_links()
    rng = random.Random(int(os.environ.get("TIFFIN_FAULT_SEED", "7")))
    for attempt in range(12):
        port = free_port()
        cmd = [TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "--dns-upstream", node.dns_upstream,
               "run", "-d", "-p", f"{port}:80", image, "sleep", "300"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, 0.08))
        p.send_signal(signal.SIGKILL)
        p.wait()
    for cid in node.container_ids():
        node("rm", "-f", cid)
    assert node.container_ids() == []
    # A namespace's veths are deleted by the kernel shortly after it goes (a work queue).
    wait_for(lambda: set(tiffin_links()) <= set(links_before), timeout=10, what="no veth left")
    assert json.loads(node.out("network", "inspect", "tiffin"))[0]["Containers"] == {}, "no lease left"
    assert os.listdir(node.run_root / "netns") == []
    for table in nft_tables():
        text = nft_text(table)
        assert not re.search(r"map published_\w+ \{[^}]*elements", text), "no port rule left:\n" + text


def test_system_boot_restores_what_a_reboot_took(node, image, client):
    port = free_port()
    web(node, image, "--restart", "always", "-p", f"{port}:80", name="keeper")
    assert http_get(f"http://127.0.0.1:{port}/") == "hello"
    # A reboot, as far as the kernel's state goes: processes, the bridge, the rules, the namespaces.
    pid = node.inspect("keeper")["State"]["Pid"]
    for shim in [int(x) for x in sh("pgrep", "-f", f"tiffin-shim.*{node.inspect('keeper')['Id']}", check=False).stdout.split()]:
        os.kill(shim, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="the container's death")
    net = json.loads(node.out("network", "inspect", "tiffin"))[0]
    bridge = net["Options"]["com.docker.network.bridge.name"]
    for table in nft_tables():
        sh("nft", "delete", "table", *table.split(), check=False)
    sh("ip", "link", "del", bridge)
    sh("umount", "-l", str(node.run_root / "netns" / node.inspect("keeper")["Id"]), check=False)
    sh("rm", "-rf", str(node.run_root / "firewall"))
    out = node.out("system", "boot")
    assert "keeper: started" in out, out
    wait_for(lambda: http_get(f"http://127.0.0.1:{port}/", timeout=2) == "hello", timeout=15, what="the port after boot")
    node("rm", "-f", "keeper")
