"""tiffin-dns end to end, as root: the resolver on loopback addresses (127.0.0.x) with two network
files, a fake upstream of the test's own on 127.0.0.1 (never the host's resolver), then a real
bridge with two network namespaces.

Covers: names answered per network (isolation), A/AAAA/PTR, the search domain, case, forwarding
over UDP and TCP, truncated replies passed through, dead upstreams (failover, SERVFAIL in time),
reloads (records and networks added and removed, a bad file keeping the last good version),
hostile packets, ensure_resolver (detached start, cheap when running, restart after kill -9,
survival of kill -9 of the process that started it), the idle exit.
"""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, needs_root
from dnsutil import AAAA, MX, PTR, A, FakeUpstream, free_udp_port, tcp_query, udp_query

pytestmark = needs_root

DNS_BIN = os.environ.get("TIFFIN_DNS_BIN", str(Path(os.environ.get("TIFFIN_BIN", ROOT / "build/apps/tiffin")).parent / "tiffin-dns"))
N1, N2 = "127.0.0.31", "127.0.0.32"


def write_atomic(path, text):
    """As the engine writes network files: a temp file, then rename."""
    tmp = path.parent / (".tmp." + path.name)
    tmp.write_text(text)
    os.rename(tmp, path)


def network_file(listen, upstreams, records, search="tiffin"):
    lines = ["# tiffin-dns network file", f"listen {listen}"]
    lines += [f"upstream {u}" for u in upstreams]
    if search:
        lines.append(f"search {search}")
    lines += [f"record {n} {a}" for n, a in records]
    return "\n".join(lines) + "\n"


def wait_for(cond, timeout=5.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(what)


def alive(d):
    return subprocess.run([DNS_BIN, "--alive", str(d)]).returncode == 0


def resolver_pid(d):
    return int((d / "resolver.pid").read_text().split()[0])


@pytest.fixture
def upstream():
    u = FakeUpstream()
    yield u
    u.close()


class Resolver:
    def __init__(self, d, proc):
        self.dir, self.proc = d, proc

    def log(self):
        return (self.dir / "out.log").read_text()


@pytest.fixture
def dns(tmp_path, upstream):
    """tiffin-dns in the foreground on tmp_path/dns with networks n1 and n2."""
    d = tmp_path / "dns"
    d.mkdir()
    port = free_udp_port(N1)
    write_atomic(d / "n1.conf", network_file(f"{N1}:{port}", [f"127.0.0.1:{upstream.port}"],
                                             [("web", "10.89.0.2"), ("web", "fd00:89::2"), ("Web.Alias", "10.89.0.2")]))
    write_atomic(d / "n2.conf", network_file(f"{N2}:{port}", [f"127.0.0.1:{upstream.port}"], [("db", "10.90.0.3")]))
    out = open(d / "out.log", "w")
    proc = subprocess.Popen([DNS_BIN, str(d), "--idle-exit", "2"], stdout=out, stderr=out)
    r = Resolver(d, proc)
    r.port = port
    wait_for(lambda: udp_query(N1, port, "web", timeout=0.2).answers, what="the resolver answering")
    yield r
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    out.close()


def test_names_answered_per_network(dns, upstream):
    r = udp_query(N1, dns.port, "web")
    assert r.rcode == 0 and r.aa and r.values == ["10.89.0.2"]
    assert udp_query(N1, dns.port, "WEB.Tiffin").values == ["10.89.0.2"]
    assert udp_query(N1, dns.port, "web.alias.tiffin").values == ["10.89.0.2"]
    assert udp_query(N1, dns.port, "web", AAAA).values == ["fd00:89::2"]
    assert udp_query(N2, dns.port, "db").values == ["10.90.0.3"]
    # Isolation: n2 does not know n1's names. Under the search domain that is NXDOMAIN from the
    # resolver itself; a bare name goes upstream (which says NXDOMAIN too).
    before = list(upstream.seen)
    assert udp_query(N2, dns.port, "web.tiffin").rcode == 3
    assert upstream.seen == before
    assert udp_query(N2, dns.port, "web").rcode == 3
    assert upstream.seen[-1] == "web"
    # A name with no address of a family, or a type it does not have: NOERROR, empty.
    r = udp_query(N2, dns.port, "db", AAAA)
    assert r.rcode == 0 and r.answers == []
    assert udp_query(N2, dns.port, "db", MX).answers == []


def test_ptr(dns):
    r = udp_query(N1, dns.port, "2.0.89.10.in-addr.arpa", PTR)
    assert sorted(r.values) == ["web.alias.tiffin", "web.tiffin"]
    v6 = ".".join(reversed("fd000089000000000000000000000002")) + ".ip6.arpa"
    assert udp_query(N1, dns.port, v6, PTR).values == ["web.tiffin"]
    # n2 does not answer for n1's addresses (forwarded, NXDOMAIN from the fake upstream is not
    # given for PTR: it answers NOERROR with nothing).
    assert udp_query(N2, dns.port, "2.0.89.10.in-addr.arpa", PTR).values == []


def test_forwarding_udp_and_tcp(dns, upstream):
    r = udp_query(N1, dns.port, "outside.test", qid=0x1234)
    assert r.id == 0x1234 and r.values == ["192.0.2.7"] and not r.aa
    assert r.questions[0][0] == "outside.test"
    r = tcp_query(N1, dns.port, "outside.test", qid=0x4321)
    assert r.id == 0x4321 and r.values == ["192.0.2.7"]
    # Local names over TCP too.
    assert tcp_query(N2, dns.port, "db").values == ["10.90.0.3"]
    # A truncated reply passes through; the client retries over TCP and gets everything.
    r = udp_query(N1, dns.port, "big.test")
    assert r.tc and r.answers == []
    assert len(tcp_query(N1, dns.port, "big.test").answers) == 40


def test_several_queries_on_one_tcp_connection(dns):
    import struct
    from dnsutil import Reply, build_query, recv_framed
    with socket.create_connection((N1, dns.port), timeout=5) as s:
        qs = [build_query(n, A, qid=i + 1) for i, n in enumerate(["web", "outside.test", "web.alias"])]
        s.sendall(b"".join(struct.pack("!H", len(q)) + q for q in qs))
        got = [Reply(recv_framed(s)) for _ in qs]
    assert [r.id for r in got] == [1, 2, 3]
    assert [r.values for r in got] == [["10.89.0.2"], ["192.0.2.7"], ["10.89.0.2"]]


def test_dig_if_installed(dns):
    if subprocess.run(["sh", "-c", "command -v dig"], capture_output=True).returncode != 0:
        pytest.skip("dig is not installed (bind9-dnsutils)")
    out = subprocess.run(["dig", "+short", f"@{N1}", "-p", str(dns.port), "web.tiffin"], capture_output=True, text=True, timeout=10)
    assert out.stdout.split() == ["10.89.0.2"]
    out = subprocess.run(["dig", "+short", "+tcp", f"@{N1}", "-p", str(dns.port), "outside.test"], capture_output=True, text=True, timeout=10)
    assert out.stdout.split() == ["192.0.2.7"]
    out = subprocess.run(["dig", "+short", f"@{N1}", "-p", str(dns.port), "-x", "10.89.0.2"], capture_output=True, text=True, timeout=10)
    assert sorted(out.stdout.split()) == ["web.alias.tiffin.", "web.tiffin."]


def test_dead_upstreams(dns, upstream):
    dead1, dead2 = free_udp_port(), free_udp_port()
    port = free_udp_port("127.0.0.33")
    write_atomic(dns.dir / "n3.conf", network_file(f"127.0.0.33:{port}", [f"127.0.0.1:{dead1}", f"127.0.0.1:{dead2}"], []))
    wait_for(lambda: udp_query("127.0.0.33", port, "x.tiffin", timeout=0.2).rcode == 3, what="n3")
    t = time.monotonic()
    r = udp_query("127.0.0.33", port, "outside.test", timeout=10)
    took = time.monotonic() - t
    assert r.rcode == 2  # SERVFAIL after ~2 s per upstream
    assert 3.5 < took < 6, took
    # TCP: a refused connection fails over at once.
    assert tcp_query("127.0.0.33", port, "outside.test").rcode == 2
    # Failover: the first upstream dead, the second alive.
    write_atomic(dns.dir / "n3.conf", network_file(f"127.0.0.33:{port}", [f"127.0.0.1:{dead1}", f"127.0.0.1:{upstream.port}"], []))
    time.sleep(0.3)
    t = time.monotonic()
    assert udp_query("127.0.0.33", port, "outside.test", timeout=10).values == ["192.0.2.7"]
    assert 1.5 < time.monotonic() - t < 3.5
    assert tcp_query("127.0.0.33", port, "outside.test").values == ["192.0.2.7"]


def test_reload_records_and_networks(dns, upstream):
    up = [f"127.0.0.1:{upstream.port}"]
    # A record added, then one removed.
    write_atomic(dns.dir / "n1.conf", network_file(f"{N1}:{dns.port}", up, [("web", "10.89.0.2"), ("api", "10.89.0.7")]))
    wait_for(lambda: udp_query(N1, dns.port, "api", timeout=0.5).values == ["10.89.0.7"], what="api added")
    write_atomic(dns.dir / "n1.conf", network_file(f"{N1}:{dns.port}", up, [("api", "10.89.0.7")]))
    wait_for(lambda: udp_query(N1, dns.port, "web.tiffin", timeout=0.5).rcode == 3, what="web removed")
    # A network added: its address is bound; removed: closed again.
    port = free_udp_port("127.0.0.34")
    write_atomic(dns.dir / "n4.conf", network_file(f"127.0.0.34:{port}", up, [("cache", "10.91.0.5")]))
    wait_for(lambda: udp_query("127.0.0.34", port, "cache", timeout=0.3).values == ["10.91.0.5"], what="n4 added")
    os.unlink(dns.dir / "n4.conf")

    def closed():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            return s.connect_ex(("127.0.0.34", port)) != 0
    wait_for(closed, what="n4's socket closed")
    with pytest.raises(OSError):
        udp_query("127.0.0.34", port, "cache", timeout=0.5)
    # A broken file keeps the last good version, and the log names the line.
    (dns.dir / "n2.conf").write_text(f"listen {N2}:{dns.port}\nrecord db 10.90.0.3\nrecord oops\n")
    wait_for(lambda: "n2.conf:3:" in dns.log(), what="the error logged")
    assert udp_query(N2, dns.port, "db").values == ["10.90.0.3"]
    # Files that are not networks are not read.
    (dns.dir / "notes.txt").write_text("listen 127.0.0.35:53\n")
    assert udp_query(N1, dns.port, "api").values == ["10.89.0.7"]


def test_bind_retried_until_the_port_is_free(dns, upstream):
    """An address whose port another process holds is bound once it lets go (retried every
    second), without any change to the files."""
    addr = "127.0.0.36"
    port = free_udp_port(addr)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind((addr, port))
    try:
        write_atomic(dns.dir / "n6.conf", network_file(f"{addr}:{port}", [f"127.0.0.1:{upstream.port}"], [("late", "10.96.0.6")]))
        wait_for(lambda: "binding UDP " + f"{addr}:{port}" in dns.log(), what="the bind failure logged")
        assert tcp_query(addr, port, "late").values == ["10.96.0.6"]  # TCP got its socket
    finally:
        squatter.close()
    wait_for(lambda: udp_query(addr, port, "late", timeout=0.3).values == ["10.96.0.6"], what="UDP bound on retry")
    assert f"listening on {addr}:{port}" in dns.log()


def test_hostile_packets_do_not_hurt(dns):
    import random
    from dnsutil import build_query
    rng = random.Random(7)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        # Garbage, short packets, a pointer loop, a response: no crash (FORMERR or silence).
        loop = bytes.fromhex("abcd01000001000000000000c00c00010001")
        response = bytearray(build_query("web", A, qid=9))
        response[2] |= 0x80
        for p in [b"", b"\x00", loop, bytes(response)] + [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(300)]:
            s.sendto(p, (N1, dns.port))
        # 300 packets can fill the socket's buffer faster than a resolver on a busy machine
        # drains it, and the kernel then drops what comes (UDP: clients retry). So the pointer
        # loop, under an id of its own, is sent until its FORMERR comes back: the resolver is
        # alive and has read everything before it.
        last = b"\xab\xce" + loop[2:]
        deadline = time.time() + 10
        formerr = False
        while time.time() < deadline and not formerr:
            s.sendto(last, (N1, dns.port))
            try:
                while not formerr:
                    data, _ = s.recvfrom(65535)
                    formerr = data[:2] == last[:2] and data[3] & 0xF == 1
            except socket.timeout:
                pass
        assert formerr
    # A TCP client sending a length and then nothing, and one sending garbage.
    with socket.create_connection((N1, dns.port)) as idle, socket.create_connection((N1, dns.port)) as junk:
        idle.sendall(b"\x00\x20")
        junk.sendall(b"\x00\x03abc")
        # On a failure, say whether the resolver died (and what it printed) or went deaf.
        try:
            answer = udp_query(N1, dns.port, "web").values
        except TimeoutError:
            raise AssertionError(f"no answer; resolver exit status {dns.proc.poll()}; its log:\n{dns.log()}")
        assert answer == ["10.89.0.2"]
    assert dns.proc.poll() is None, dns.log()


def test_idle_exit(dns):
    for f in ("n1.conf", "n2.conf"):
        os.unlink(dns.dir / f)
    dns.proc.wait(timeout=6)
    assert dns.proc.returncode == 0
    assert "no networks" in dns.log()
    assert not alive(dns.dir)


def test_ensure_resolver(tmp_path, upstream):
    d = tmp_path / "dns"
    port = free_udp_port(N1)
    d.mkdir()
    write_atomic(d / "n1.conf", network_file(f"{N1}:{port}", [f"127.0.0.1:{upstream.port}"], [("web", "10.89.0.2")]))
    assert not alive(d)
    try:
        # Started by a "CLI" in a session of its own that we then kill -9 (whole process group).
        cli = subprocess.Popen(["sh", "-c", f"{DNS_BIN} --ensure {d} && sleep 100"], start_new_session=True)
        wait_for(lambda: alive(d), what="the resolver started")
        pid = resolver_pid(d)
        os.killpg(cli.pid, signal.SIGKILL)
        cli.wait()
        assert udp_query(N1, port, "web").values == ["10.89.0.2"]
        # Not a child of the CLI, not in its session or process group.
        assert os.getsid(pid) != cli.pid and os.getpgid(pid) != cli.pid
        # Cheap when running: no new process (same pid), quick.
        t = time.monotonic()
        for _ in range(20):
            subprocess.run([DNS_BIN, "--ensure", str(d)], check=True)
        per_call = (time.monotonic() - t) / 20
        assert resolver_pid(d) == pid
        assert per_call < 0.05, per_call
        # A killed resolver is restarted by the next ensure and answers at once.
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not alive(d), what="the lock released")
        subprocess.run([DNS_BIN, "--ensure", str(d)], check=True)
        assert alive(d) and resolver_pid(d) != pid
        assert udp_query(N1, port, "web").values == ["10.89.0.2"]
        # Concurrent ensures end with one resolver.
        os.kill(resolver_pid(d), signal.SIGKILL)
        wait_for(lambda: not alive(d), what="the lock released")
        procs = [subprocess.Popen([DNS_BIN, "--ensure", str(d)]) for _ in range(5)]
        assert all(p.wait() == 0 for p in procs)
        pids = subprocess.run(["pgrep", "-f", f"{DNS_BIN} {d} "], capture_output=True, text=True).stdout.split()
        assert len(pids) == 1, pids
        assert udp_query(N1, port, "web").values == ["10.89.0.2"]
        assert "serving" in (d / "resolver.log").read_text()
    finally:
        if alive(d):
            os.kill(resolver_pid(d), signal.SIGKILL)


# --- a real bridge and two network namespaces ---------------------------------------------------

def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, capture_output=True)


@pytest.fixture
def bridge(tmp_path):
    tag = f"td{os.getpid() % 10000}"
    names = {"br": f"{tag}br", "ns": [f"{tag}a", f"{tag}b"]}
    try:
        sh(f"ip link add {names['br']} type bridge && ip addr add 10.199.0.1/24 dev {names['br']} && ip link set {names['br']} up")
        for i, ns in enumerate(names["ns"]):
            sh(f"ip netns add {ns}")
            sh(f"ip link add {ns}h type veth peer name {ns}c && ip link set {ns}c netns {ns} && ip link set {ns}h master {names['br']} up")
            sh(f"ip -n {ns} addr add 10.199.0.{10 + i}/24 dev {ns}c && ip -n {ns} link set {ns}c up && ip -n {ns} link set lo up")
        yield names
    finally:
        for ns in names["ns"]:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            subprocess.run(["ip", "link", "del", f"{ns}h"], capture_output=True)
        subprocess.run(["ip", "link", "del", names["br"]], capture_output=True)


def test_containers_on_a_bridge_resolve_each_other(tmp_path, bridge, upstream):
    """The resolver listens on the bridge's address (port 53, as for containers); two namespaces
    on the bridge resolve each other's names and forwarded ones."""
    d = tmp_path / "dns"
    d.mkdir()
    # Port 53 of the gateway address, bound before the bridge would even need to be up
    # (IP_FREEBIND).
    write_atomic(d / "net.conf", network_file("10.199.0.1", [f"127.0.0.1:{upstream.port}"],
                                              [("alpha", "10.199.0.10"), ("beta", "10.199.0.11")]))
    out = open(tmp_path / "out.log", "w")
    proc = subprocess.Popen([DNS_BIN, str(d)], stdout=out, stderr=out)
    try:
        probe = ("import sys; sys.path.insert(0, %r); from dnsutil import udp_query, tcp_query; "
                 "print(udp_query('10.199.0.1', 53, sys.argv[1]).values, tcp_query('10.199.0.1', 53, sys.argv[1]).values)") % str(Path(__file__).parent)

        def ask(ns, name):
            return subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", probe, name], capture_output=True, text=True, timeout=20).stdout.strip()
        wait_for(lambda: ask(bridge["ns"][0], "beta") != "", timeout=10, what="an answer on the bridge")
        assert ask(bridge["ns"][0], "beta") == "['10.199.0.11'] ['10.199.0.11']"
        assert ask(bridge["ns"][1], "alpha.tiffin") == "['10.199.0.10'] ['10.199.0.10']"
        # Forwarded: the upstream on the host's loopback, reached by the resolver, not the netns.
        assert ask(bridge["ns"][1], "outside.test") == "['192.0.2.7'] ['192.0.2.7']"
    finally:
        proc.kill()
        proc.wait()
        out.close()
