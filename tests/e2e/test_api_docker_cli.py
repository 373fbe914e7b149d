"""The Docker Engine API of `tiffin serve`, driven by the real docker CLIs the machine has (28.x
from /usr/local/bin and Debian's 20.10 from /usr/bin: every test runs with each; or
$DOCKER_CLI alone) over a unix socket, as root.

Covers: version negotiation (the CLI's API 1.50 downgraded to 1.47); run --rm with output on
both streams, the exit code and stdin; run -d, ps with label filters and --format, logs (with
-f ending when the container exits), inspect -f, exec (exit codes, stdin), top, stop, wait,
rm -f; what the CLI makes shows up in the API at once and the other way round; volumes and
networks; a serve killed with SIGKILL leaves its containers running and a new one picks them
up; bad requests get docker's error bodies; the socket is 0660 and TCP needs TLS.
"""
import json
import os
import signal
import socket
import stat
import subprocess
import time

import pytest

from apiserver import DOCKERS, Serve, serve_each_cli  # noqa: F401 (fixture)
from conftest import TIFFIN, needs_root
from engine import image, node, run_in_pty, wait_for  # noqa: F401 (fixtures)

pytestmark = [needs_root, pytest.mark.skipif(not DOCKERS, reason="no docker CLI")]


@pytest.fixture
def serve(serve_each_cli):
    return serve_each_cli


def raw(sock, request: bytes):
    """One request over the socket (asking the server to close after it); the whole answer."""
    head, _, body = request.partition(b"\r\n\r\n")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_version_ping_and_info(serve):
    v = json.loads(serve.out("version", "--format", "{{json .}}"))
    # 28.x speaks up to 1.50 and comes down to the server's 1.47; 20.10 speaks 1.41.
    assert v["Server"]["ApiVersion"] == "1.47" and v["Client"]["ApiVersion"] in ("1.41", "1.47")
    assert serve.out("info", "--format", "{{.OSType}} {{.ServerVersion}}").startswith("linux ")
    answer = raw(serve.sock, b"HEAD /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and b"Api-Version: 1.47" in answer
    assert stat.S_IMODE(os.stat(serve.sock).st_mode) == 0o660


def test_run_attach_exit_codes_and_stdin(serve, image):
    p = serve.docker("run", "--rm", "--network", "none", image, "sh", "-c", "echo out; echo err >&2; exit 3", rc=3)
    assert p.stdout == b"out\n" and p.stderr == b"err\n"
    assert serve.out("run", "--rm", "-i", "--network", "none", image, "cat", input=b"through stdin\n") == "through stdin"
    assert serve.out("ps", "-a", "-q") == "", "--rm took them"
    # With a terminal the stream is raw (no frames, no quoting).
    code, out = run_in_pty(["/usr/bin/env", f"DOCKER_HOST=unix://{serve.sock}", f"DOCKER_CONFIG={serve.sock.parent}/dc", serve.cli,
                            "run", "--rm", "-it", "--network", "none", image, "sh", "-c", "tty; echo raw-out; exit 4"])
    assert code == 4 and b"/dev/pts/" in out and b"raw-out\r\n" in out, out
    # A missing program: docker's 127.
    serve.docker("run", "--rm", "--network", "none", image, "/no/such/program", rc=127)


def test_detached_lifecycle(serve, node, image):
    cid = serve.out("run", "-d", "--name", "w1", "--network", "none", "-e", "FOO=bar", "-l", "app=x", image,
                    "sh", "-c", "echo started; exec sleep 1000")
    assert serve.out("ps", "--filter", "label=app=x", "--format", "{{.Names}} {{.Image}}") == f"w1 {image}"
    assert serve.out("ps", "--filter", "label=app=y", "-q") == ""
    assert serve.out("inspect", "-f", "{{.State.Running}} {{.Config.Env}}", "w1").startswith("true [")
    assert int(serve.out("inspect", "-f", "{{.State.Pid}}", "w1")) > 0
    wait_for(lambda: "started" in serve.out("logs", "w1"), what="the output")
    assert serve.out("exec", "w1", "sh", "-c", "echo $FOO") == "bar"
    serve.docker("exec", "w1", "sh", "-c", "exit 4", rc=4)
    assert serve.out("exec", "-i", "w1", "cat", input=b"piped\n") == "piped"
    assert "sleep 1000" in serve.out("top", "w1")
    # With a terminal (docker exec -it from a pty): the program sees one.
    code, out = run_in_pty(["/usr/bin/env", f"DOCKER_HOST=unix://{serve.sock}", f"DOCKER_CONFIG={serve.sock.parent}/dc", serve.cli,
                            "exec", "-it", "w1", "sh", "-c", "tty; read x; echo typed-$x; exit 6"], answer=b"abc\r")
    assert code == 6 and b"/dev/pts/" in out and b"typed-abc" in out, out
    # The CLI sees what the API made, and the other way round.
    assert node.inspect("w1")["Id"] == cid
    other = node.out("run", "-d", "--name", "fromcli", "--network", "none", image, "sleep", "1000")
    assert other in serve.out("ps", "-q", "--no-trunc").split()
    serve.docker("stop", "-t", "1", "w1")
    assert serve.out("inspect", "-f", "{{.State.Status}}", "w1") == "exited"
    assert serve.out("wait", "w1") == "137"
    serve.docker("rm", "-f", "w1", "fromcli")
    assert node.container_ids() == []


def test_logs_follow_ends_with_the_container(serve, image):
    serve.docker("run", "-d", "--name", "talk", "--network", "none", image, "sh", "-c",
                 "for i in 1 2 3; do echo line$i; sleep 0.3; done; echo bye >&2")
    p = serve.docker("logs", "-f", "talk", timeout=30)
    assert p.stdout.decode().split() == ["line1", "line2", "line3"] and p.stderr == b"bye\n"
    assert serve.out("logs", "--tail", "1", "talk") == ""  # the last record is stderr's
    assert serve.docker("logs", "--tail", "1", "talk").stderr == b"bye\n"
    serve.docker("rm", "talk")


def test_volumes_and_networks(serve, node, image):
    assert serve.out("volume", "create", "data") == "data"
    assert "data" in serve.out("volume", "ls", "-q").split()
    serve.docker("run", "--rm", "--network", "none", "-v", "data:/data", image, "sh", "-c", "echo kept > /data/f")
    assert serve.out("run", "--rm", "--network", "none", "-v", "data:/data", image, "cat", "/data/f") == "kept"
    assert json.loads(serve.out("volume", "inspect", "data"))[0]["Mountpoint"].endswith("/volumes/data/_data")
    serve.docker("volume", "rm", "data")
    nid = serve.out("network", "create", "--subnet", "10.123.0.0/24", "appnet")
    assert json.loads(serve.out("network", "inspect", "appnet"))[0]["Id"] == nid
    serve.docker("run", "-d", "--name", "db", "--network", "appnet", "--network-alias", "database", image, "sleep", "1000")
    db_ip = json.loads(serve.out("inspect", "-f", "{{json .NetworkSettings.Networks}}", "db"))["appnet"]["IPAddress"]
    assert db_ip.startswith("10.123.0.")
    # The alias resolves on the network (compose's service names work this way).
    out = serve.out("run", "--rm", "--network", "appnet", image, "busybox", "nslookup", "database")
    assert db_ip in out, out
    serve.docker("rm", "-f", "db")
    serve.docker("network", "rm", "appnet")
    assert "appnet" not in serve.out("network", "ls")


def test_a_killed_server_leaves_containers_running(serve, node, image):
    cid = serve.out("run", "-d", "--network", "none", image, "sleep", "1000")
    attach = subprocess.Popen([serve.cli, "attach", cid], env=dict(os.environ, DOCKER_HOST=f"unix://{serve.sock}"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)
    serve.stop(signal.SIGKILL)
    attach.wait(timeout=10)
    assert node.inspect(cid)["State"]["Running"], "the container is its shim's, not the server's"
    serve.start()
    assert serve.out("inspect", "-f", "{{.State.Running}}", cid) == "true"
    serve.docker("rm", "-f", cid)


class PtyClient:
    """A docker CLI on a terminal of its own (as a user's `docker run -it`), its output read as it
    comes."""

    def __init__(self, serve, *args):
        import pty
        self.master, slave = pty.openpty()
        env = dict(os.environ, DOCKER_HOST=f"unix://{serve.sock}", DOCKER_CONFIG=f"{serve.sock.parent}/dc")
        self.proc = subprocess.Popen([serve.cli, *args], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.out = b""

    def read_until(self, needle, timeout=20):
        import select
        deadline = time.time() + timeout
        while needle not in self.out:
            assert time.time() < deadline, f"no {needle!r} in {self.out!r}"
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.out += os.read(self.master, 4096)
                except OSError:
                    break
        return self.out

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)


def test_a_killed_server_mid_run_it(serve, node, image):
    """kill -9 of the server while `docker run -it` streams: the container keeps running, a new
    server attaches to it, shows its logs and stops it."""
    ticker = "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done"
    client = PtyClient(serve, "run", "-it", "--name", "pit", "--network", "none", image, "sh", "-c", ticker)
    try:
        client.read_until(b"tick3")
        serve.stop(signal.SIGKILL)
        client.proc.wait(timeout=10)  # the CLI ends with its connection
    finally:
        client.close()
    assert node.inspect("pit")["State"]["Running"], "the container is its shim's, not the server's"
    assert "pit" in node.out("ps", "--format", "{{.Names}}").split()
    serve.start()
    assert serve.out("inspect", "-f", "{{.State.Running}}", "pit") == "true"
    wait_for(lambda: "tick5" in serve.out("logs", "pit"), what="the log going on")
    again = PtyClient(serve, "attach", "pit")
    try:
        seen = len(again.read_until(b"tick"))
        n = int(serve.out("logs", "--tail", "1", "pit").strip().removeprefix("tick")) + 3
        again.read_until(f"tick{n}".encode())
        assert len(again.out) > seen
    finally:
        again.close()
    serve.docker("stop", "-t", "1", "pit")
    assert serve.out("inspect", "-f", "{{.State.Status}}", "pit") == "exited"
    serve.docker("rm", "pit")


def pull_leftovers(node):
    """What a pull writes on its way (spooled blobs, flists not yet renamed into place)."""
    return sorted(str(p.relative_to(node.root)) for p in node.root.rglob("*")
                  if p.is_file() and (p.name.endswith((".blob", ".tmp")) or p.name.startswith((".pull-", ".convert-"))))


def test_a_killed_server_mid_pull(serve, node, tmp_path):
    """kill -9 of the server while `docker pull` is receiving a layer (a registry behind a slow
    proxy): no image of that name afterwards, nothing half-written that stays, and the pull
    through a new server completes."""
    from ociimage import Layout, busybox_members
    from registry import Registry, SlowProxy
    registry = Registry(tmp_path / "registry")
    proxy = None
    try:
        lay = Layout(tmp_path / "layout")
        base = lay.layer(busybox_members())
        big = lay.layer([("file", "big", os.urandom(3 << 20), 0o644)])  # incompressible: a 3 MiB blob
        lay.tag(lay.image([base, big], {"Cmd": ["sh"]}), "latest")
        registry.push(lay.dir, "latest", "team/slow:1")
        proxy = SlowProxy(registry.host)
        ref = f"{proxy.host}/team/slow:1"
        env = dict(os.environ, DOCKER_HOST=f"unix://{serve.sock}", DOCKER_CONFIG=f"{serve.sock.parent}/dc")
        pull = subprocess.Popen([serve.cli, "pull", ref], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proxy.blob_started.wait(30), "the pull never reached a blob"
        time.sleep(1)  # well into the blob
        assert pull.poll() is None, "the pull ended before the kill: the proxy is not slow enough"
        serve.stop(signal.SIGKILL)
        # The CLI takes a progress stream that just ends for success (exit 0, as with dockerd):
        # what it printed tells.
        out, _ = pull.communicate(timeout=10)
        assert b"Downloaded newer image" not in out, out
        assert ref not in node.out("images"), "a half-pulled image is listed"
        serve.start()
        assert serve.out("images", "-q", ref) == ""
        # Blobs spool into unnamed files (O_TMPFILE): nothing of the killed pull stays.
        assert pull_leftovers(node) == []
        proxy.throttle = False
        serve.docker("pull", ref, timeout=120)
        assert serve.out("run", "--rm", "--network", "none", ref, "stat", "-c", "%s", "/big") == str(3 << 20)
    finally:
        if proxy:
            proxy.stop()
        registry.stop()


def test_bad_requests_get_dockers_errors(serve, image):
    answer = raw(serve.sock, b"POST /v1.47/containers/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 5\r\n\r\n{bad}")
    assert answer.startswith(b"HTTP/1.1 400") and b'"message"' in answer
    answer = raw(serve.sock, b"GET /v1.99/info HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and b"too new" in answer
    answer = raw(serve.sock, b"GET /v1.47/containers/nosuch/json HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404") and b"No such container: nosuch" in answer
    answer = raw(serve.sock, b"GET /v1.47/nothing/here HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404")
    big = b"x" * (70 << 20)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(serve.sock))
        s.sendall(b"POST /v1.47/containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big))
        assert s.recv(100).startswith(b"HTTP/1.1 413")
    p = serve.docker("run", "--rm", "--network", "none", "--restart", "always", image, "true", rc=None)
    assert p.returncode != 0 and p.stderr
    p = serve.docker("inspect", "nosuch", rc=1)
    assert b"No such object" in p.stderr or b"No such" in p.stderr
    # The server is still there.
    assert serve.out("version", "--format", "{{.Server.APIVersion}}") == "1.47"


def test_tcp_needs_tls(node, tmp_path):
    p = subprocess.run([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "serve", "-H", "tcp://127.0.0.1:0"],
                       capture_output=True, timeout=10)
    assert p.returncode == 2 and b"TLS" in p.stderr


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, with openssl."""
    def ssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who in ("server", "client"):
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}-key.pem", "-out", f"{who}.csr", "-subj", f"/CN={who}")
        ssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out",
            f"{who}.pem", "-days", "1", "-extfile", f"{who}.ext")


def test_tcp_with_client_certificates(node, image, tmp_path):
    from conftest import free_port
    d = tmp_path / "tls"
    d.mkdir()
    make_certs(d)
    port = free_port()
    proc = subprocess.Popen([TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "serve", "-H",
                             f"tcp://127.0.0.1:{port}", "--tlscacert", d / "ca.pem", "--tlscert", d / "server.pem",
                             "--tlskey", d / "server-key.pem"], stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert b"listening on tcp://127.0.0.1" in proc.stderr.readline()
        env = dict(os.environ, DOCKER_CONFIG=str(tmp_path / "dc"))
        base = [DOCKERS[0], "-H", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", str(d / "ca.pem")]
        ok = subprocess.run(base + ["--tlscert", str(d / "client.pem"), "--tlskey", str(d / "client-key.pem"),
                                    "run", "--rm", "--network", "none", image, "echo", "over tls"], capture_output=True, env=env, timeout=60)
        assert ok.returncode == 0 and ok.stdout == b"over tls\n", ok.stderr
        # No client certificate: the handshake fails, nothing is served.
        refused = subprocess.run(base + ["ps"], capture_output=True, env=env, timeout=60)
        assert refused.returncode != 0
    finally:
        proc.terminate()
        proc.wait(15)


def test_socket_activation(node, image, tmp_path):
    sock = tmp_path / "act.sock"
    proc = subprocess.Popen(["systemd-socket-activate", "-l", str(sock), TIFFIN, "--root", str(node.root), "--run-root",
                             str(node.run_root), "serve", "-H", "fd://"], stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: sock.exists(), what="the socket")
        env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=str(tmp_path / "dc"))
        p = subprocess.run([DOCKERS[0], "run", "--rm", "--network", "none", image, "echo", "activated"], capture_output=True, env=env,
                           timeout=60)
        assert p.returncode == 0 and p.stdout == b"activated\n", p.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)



def test_list_format_json_is_the_docker_clis(node, image, tmp_path, monkeypatch):
    """`tiffin ps|images|volume ls|network ls --format json` print exactly what docker CLI 28 prints
    through `tiffin serve` for the same state: one JSON object a line, the verb's row (as
    --format '{{json .}}', Go's json.Marshal: <, > and & escaped), so scripts written for docker
    (`… --format json | jq -r .Names`) work. In a zone that is not UTC (docker's CreatedAt of
    containers and images is local, of networks UTC)."""
    from ociimage import Layout, busybox_members
    cli28 = next((d for d in DOCKERS if not subprocess.run([d, "--version"], capture_output=True, text=True).stdout.split()[2].startswith("20.")), None)
    if cli28 is None:
        pytest.skip("no docker CLI 28 (20.10's has no --format json)")
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    serve = Serve(node, tmp_path / "api" / "d.sock", docker=cli28)
    try:
        for v in ("jdata10", "jdata9", "Adata"):
            node("volume", "create", v)
        node("network", "create", "--label", "team=a&b", "--internal", "--ipv6", "jnet2")
        node("network", "create", "--subnet", "10.124.0.0/24", "jnet10")
        node("tag", image, "other/name:3")
        node("tag", image, "busybox:two")
        lay = Layout(tmp_path / "layout")  # loaded by digest alone: an untagged image, <none>
        lay.tag(lay.image([lay.layer(busybox_members())], {"Cmd": ["sh"]}), "latest")
        node("load", "-i", lay.dir)
        node("run", "-d", "--name", "jweb", "-v", "jdata9:/data", "-v", f"{tmp_path}:/host", "-l", "x=<y>",
             "-p", "18080:80", "-p", "18090:18090", "-p", "127.0.0.1:18081:81/udp", image,
             "sh", "-c", "sleep 1000 && echo '<done>'")
        node("run", "-d", "--name", "jnet", "--network", "jnet2", image, "sleep", "1000")
        node("create", "--name", "jnew", "--network", "none", "-l", "a=b", image, "true")
        node("run", "--name", "jexit", "--network", "none", image, "sh", "-c", "exit 3", rc=3)

        def same(*verb, key=lambda out: out):
            # Times ("Up 2 seconds") are the CLIs' own: a second may tick between the two.
            for _ in range(5):
                ours, theirs = node.out(*verb, "--format", "json"), serve.out(*verb, "--format", "json")
                if key(ours) == key(theirs):
                    break
            assert key(ours) == key(theirs), f"tiffin {verb}:\n{ours}\ndocker:\n{theirs}"
            return ours

        rows = [json.loads(line) for line in same("ps", "-a").splitlines()]
        assert [r["Names"] for r in rows] == ["jexit", "jnew", "jnet", "jweb"] and rows[3]["Labels"] == "x=<y>"
        assert "\\u003cy\\u003e" in same("ps")
        same("ps", "--no-trunc")
        # docker lists an image's repositories in Go's map order: compare the rows as a set.
        rows = same("images", key=lambda out: sorted(out.splitlines()))
        assert sorted((r["Repository"], r["Tag"]) for r in map(json.loads, rows.splitlines())) == [
            ("<none>", "<none>"), ("busybox", "latest"), ("busybox", "two"), ("other/name", "3")]
        same("images", "--no-trunc", key=lambda out: sorted(out.splitlines()))
        assert [json.loads(line)["Name"] for line in same("volume", "ls").splitlines()] == ["Adata", "jdata9", "jdata10"]
        names = [json.loads(line)["Name"] for line in same("network", "ls").splitlines()]
        assert names == ["host", "jnet2", "jnet10", "none", "tiffin"]
        same("network", "ls", "--no-trunc")
    finally:
        node("rm", "-f", "jweb", "jnet", "jnew", "jexit", rc=None)
        serve.stop()
