"""A Zero-OS node end to end, as root: users and their keys, workloads deployed from signed
requests (through the daemonless CLI and through `tiffin serve`'s /zos/v1), their secret
environment (in the container's environment and nowhere else), logs and stats on a real
redis-server, signed results, refusals (unknown user, bad signature, replay, validation), delete,
and managing a node remotely (tiffin serve --zos, tiffin node add/ping/info/disks/exec, --node)."""
import hashlib
import http.client
import json
import os
import socket
import subprocess
import urllib.request
import urllib.error

import pytest

from apiserver import Serve
from conftest import free_port, needs_root
from engine import image, node, wait_for  # noqa: F401 (fixtures)
from test_engine import RedisSubscriber

pytestmark = needs_root

SECRET = "s3cr3t-Zero-OS-" + os.urandom(6).hex()


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(self.path))


def call(sock, method, path, body=None, auth=None):
    """One request to a serve's unix socket: (status, JSON body)."""
    c = UnixHTTP(sock)
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = auth
    c.request(method, path, body=body if body is None or isinstance(body, bytes) else json.dumps(body).encode(), headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None


def call_tcp(port, method, path, body=None, auth=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode())
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def user(node, tmp_path, uid):
    """A user's key (tiffin node keygen) registered on the node."""
    seed = tmp_path / f"user{uid}.seed"
    pub = node.out("node", "keygen", seed)
    assert len(pub) == 64 and oct(seed.stat().st_mode & 0o777) == "0o600"
    node("node", "users", "add", uid, "--key", pub)
    return seed


def workload(path, wid, image, **over):
    w = {"workload_id": wid, "flist": image,
         "entrypoint": "sh -c 'echo plain=$PLAIN; echo -n \"$SECRET\" | md5sum; exec sleep 1000'",
         "environment": {"PLAIN": "visible"}, "secret_environment": {"SECRET": SECRET},
         "capacity": {"cpu": 1, "memory": 128, "disk_size": 0, "disk_type": "ssd"}}
    w.update(over)
    path.write_text(json.dumps(w))
    return path


def files_holding(needle: bytes, *dirs):
    """Every regular file under dirs whose bytes hold needle."""
    found = []
    for d in dirs:
        for base, _, files in os.walk(d):
            for f in files:
                p = os.path.join(base, f)
                try:
                    if os.path.isfile(p) and not os.path.islink(p) and needle in open(p, "rb").read():
                        found.append(p)
                except OSError:
                    pass
    return found


def test_deploy_runs_the_workload_with_its_secret_logs_and_stats(node, image, redis, tmp_path):
    seed = user(node, tmp_path, 7)
    node("network", "create", "zosnet", "--subnet", "10.77.3.0/24")
    node("volume", "create", "data")
    url = f"redis://127.0.0.1:{redis.port}"
    sub = RedisSubscriber(redis.port, "wout", "wstats")
    try:
        wl = workload(tmp_path / "w.json", 11, image,
                      entrypoint="sh -c 'echo plain=$PLAIN; echo -n \"$SECRET\" | md5sum; echo kept > /data/out; exec sleep 1000'",
                      volumes=[{"volume_id": "data", "mountpoint": "/data"}],
                      network_connection=[{"network_id": "zosnet", "ipaddress": "10.77.3.5", "public_ip6": False}],
                      logs=[{"type": "redis", "data": {"stdout": f"{url}/wout", "stderr": f"{url}/werr"}}],
                      stats=[{"type": "redis", "data": {"endpoint": f"{url}/wstats"}}])
        result = json.loads(node.out("deploy", wl, "--user", 7, "--key", seed))
        assert result["state"] == "ok" and result["workload_id"] == 11, result
        assert result["data"]["ipv4"] == "10.77.3.5"
        cid = result["data"]["id"]
        (tmp_path / "result.json").write_text(json.dumps(result))
        assert "valid" in node.out("node", "verify-result", tmp_path / "result.json")
        # A result whose bytes changed is not the node's any more.
        forged = dict(result, data_json=result["data_json"].replace("10.77.3.5", "10.77.3.6"))
        (tmp_path / "forged.json").write_text(json.dumps(forged))
        assert b"signature" in node("node", "verify-result", tmp_path / "forged.json", rc=2).stderr

        digest = hashlib.md5(SECRET.encode()).hexdigest()
        wait_for(lambda: digest in sub.text() and "plain=visible" in sub.text(), timeout=15, what="the workload's output on redis")
        wait_for(lambda: '"memory_limit": 134217728' in sub.text() or '"memory_limit":134217728' in sub.text(), timeout=15,
                 what="stats with the workload's memory limit")
        info = node.inspect("zos-11")
        assert info["Id"] == cid and info["HostConfig"]["Memory"] == 128 << 20
        assert info["NetworkSettings"]["Networks"]["zosnet"]["IPAddress"] == "10.77.3.5"
        assert node.out("run", "--rm", "-v", "data:/d", image, "cat", "/d/out") == "kept"

        # The secret is in the container's environment …
        pid = info["State"]["Pid"]
        assert f"SECRET={SECRET}".encode() in open(f"/proc/{pid}/environ", "rb").read()
        # … and nowhere else: not in a file of the node's state or run directories (bundle,
        # shim config, logs, databases), not in inspect, not in the workload listing.
        assert files_holding(SECRET.encode(), node.root, node.run_root) == []
        assert SECRET not in node.out("inspect", "zos-11")
        assert SECRET not in node.out("workloads", "--format", "json")

        # Deploying the same workload again changes nothing; other content under its id is refused.
        again = json.loads(node.out("deploy", wl, "--user", 7, "--key", seed))
        assert again["state"] == "ok" and again["data"]["id"] == cid
        changed = workload(tmp_path / "w2.json", 11, image, environment={"PLAIN": "other"})
        p = node("deploy", changed, "--user", 7, "--key", seed, rc=1)
        assert json.loads(p.stdout)["state"] == "error" and b"exists with other content" in p.stderr

        # Delete frees everything: the container and its address (another workload takes it).
        gone = json.loads(node.out("deploy", "--delete", 11))
        assert gone["state"] == "deleted"
        assert node.container_ids() == []
        w12 = workload(tmp_path / "w12.json", 12, image,
                       network_connection=[{"network_id": "zosnet", "ipaddress": "10.77.3.5", "public_ip6": False}])
        assert json.loads(node.out("deploy", w12, "--user", 7, "--key", seed))["state"] == "ok"
        assert "12" in node.out("workloads")
        node("deploy", "--delete", 12)
    finally:
        sub.close()


def test_restarted_shim_needs_the_workload_and_a_plain_start_is_refused(node, image, tmp_path):
    seed = user(node, tmp_path, 7)
    wl = workload(tmp_path / "w.json", 21, image)
    assert json.loads(node.out("deploy", wl, "--user", 7, "--key", seed))["state"] == "ok"
    node("stop", "-t", "1", "zos-21")
    # Its secrets exist nowhere the engine could take them from: only the workload can start it.
    p = node("start", "zos-21", rc=None)
    assert p.returncode != 0 and b"needs its secret environment (SECRET)" in p.stderr
    # The node's server starts its stopped workloads (after a reboot) with their secrets again.
    s = Serve(node, tmp_path / "api" / "d.sock", "--zos", f"tcp://127.0.0.1:{free_port()}")
    try:
        info = wait_for(lambda: (lambda i: i if i["State"]["Running"] else None)(node.inspect("zos-21")), what="the workload restored")
        assert f"SECRET={SECRET}".encode() in open(f"/proc/{info['State']['Pid']}/environ", "rb").read()
        assert "workload 21: started" in s.log()
    finally:
        s.stop()
    node("deploy", "--delete", 21)


@pytest.fixture
def serve(node, tmp_path):
    port = free_port()
    s = Serve(node, tmp_path / "api" / "d.sock", "--zos", f"tcp://127.0.0.1:{port}")
    s.port = port
    yield s
    s.stop()


def signed(node, tmp_path, wl, uid, seed):
    return json.loads(node.out("deploy", wl, "--user", uid, "--key", seed, "--sign-only"))


def test_refusals_are_signed_errors_and_leave_nothing(node, image, serve, tmp_path):
    seed = user(node, tmp_path, 7)
    node("network", "create", "zosnet", "--subnet", "10.77.5.0/24")
    stranger = tmp_path / "stranger.seed"
    node("node", "keygen", stranger)

    def refused(req, status, message):
        code, res = call(serve.sock, "POST", "/zos/v1/workloads", req)
        assert code == status and res["state"] == "error" and message in res["message"], (code, res)
        (tmp_path / "r.json").write_text(json.dumps(res))
        node("node", "verify-result", tmp_path / "r.json")  # errors are signed too

    wl = workload(tmp_path / "w.json", 31, image)
    # A user the node does not know, and a known user's id with someone else's key.
    refused(dict(signed(node, tmp_path, wl, 99, stranger)), 401, "not registered")
    refused(dict(signed(node, tmp_path, wl, 7, stranger)), 401, "signature")
    # A workload changed after it was signed.
    req = signed(node, tmp_path, wl, 7, seed)
    req["workload"]["environment"]["PLAIN"] = "tampered"
    refused(req, 401, "signature")
    # Zero-OS's validation.
    for over, message in [({"capacity": {"cpu": 1, "memory": 32, "disk_type": "ssd"}}, "memory"),
                          ({"capacity": {"cpu": 0, "memory": 128, "disk_type": "ssd"}}, "cpu"),
                          ({"flist": ""}, "flist"),
                          ({"network_connection": [{"network_id": "nope", "ipaddress": "10.9.9.9"}]}, "nope"),
                          ({"network_connection": [{"network_id": "zosnet", "ipaddress": "10.77.6.5"}]}, "10.77.6.5"),
                          ({"volumes": [{"volume_id": "novol", "mountpoint": "/data"}]}, "novol")]:
        status = 404 if message in ("nope", "novol") else 400  # no such network or volume: not found
        refused(signed(node, tmp_path, workload(tmp_path / "bad.json", 32, image, **over), 7, seed), status, message)
    # A secret the node cannot decrypt (signed as it is: the user's own mistake, or another node's).
    bad = workload(tmp_path / "badsecret.json", 33, image, secret_environment={"SECRET": "00" * 80})
    req = json.loads(node.out("deploy", bad, "--user", 7, "--key", seed, "--sign-only", "--secrets", "v1"))
    refused(req, 403, "cannot be decrypted")
    # A replay: the same signed request after the workload was deleted.
    req = signed(node, tmp_path, wl, 7, seed)
    code, res = call(serve.sock, "POST", "/zos/v1/workloads", req)
    assert code == 200 and res["state"] == "ok", res
    code, res = call(serve.sock, "DELETE", "/zos/v1/workloads/31")
    assert code == 200 and res["state"] == "deleted"
    refused(req, 409, "replay")
    # Not JSON, not a request.
    code, res = call(serve.sock, "POST", "/zos/v1/workloads", b"{nope")
    assert code == 400
    assert node.container_ids() == []


def test_remote_node_management_and_user_access(node, image, serve, tmp_path):
    seed7, seed8 = user(node, tmp_path, 7), user(node, tmp_path, 8)
    token = node.out("node", "token")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"))

    def cli(*args, rc=0):
        return node(*args, rc=rc, env=env)

    cli("node", "add", "n1", f"http://127.0.0.1:{serve.port}", "--token", token)
    assert oct((tmp_path / "cfg" / "tiffin" / "nodes.json").stat().st_mode & 0o777) == "0o600"
    assert "pong from n1" in cli("node", "ping", "--node", "n1").stdout.decode()
    info = json.loads(cli("node", "info", "--node", "n1", "--format", "json").stdout)
    assert info["cpus"] >= 1 and info["memory"] > 0 and isinstance(info["disks"], list)
    assert cli("node", "exec", "--node", "n1", "--", "echo", "from-the-host").stdout.decode().strip() == "from-the-host"
    # Any verb runs on the node with --node (or TIFFIN_NODE).
    assert cli("--node", "n1", "images", "--format", "{{.Repository}}").stdout.decode().split() == [image]
    p = cli("--node", "n1", "inspect", "nothere", rc=2)
    assert b"no such object: nothere" in p.stdout

    wl = workload(tmp_path / "w.json", 41, image)
    res = json.loads(cli("deploy", wl, "--user", 7, "--key", seed7, "--node", "n1").stdout)
    assert res["state"] == "ok", res
    node_key = cli("node", "id", "--node", "n1").stdout.decode().split()[2]
    (tmp_path / "res.json").write_text(json.dumps(res))
    cli("node", "verify-result", tmp_path / "res.json", "--node-key", node_key)

    # Users see their own workloads, through their signature; others' are not there for them.
    mine = json.loads(cli("workloads", "--node", "n1", "--user", 7, "--key", seed7, "--format", "json").stdout)
    assert [w["workload_id"] for w in mine] == [41]
    assert mine[0]["workload"]["secret_environment"] == {"SECRET": "<encrypted>"}
    theirs = json.loads(cli("workloads", "--node", "n1", "--user", 8, "--key", seed8, "--format", "json").stdout)
    assert theirs == []
    p = cli("deploy", "--delete", 41, "--node", "n1", "--user", 8, "--key", seed8, rc=2)
    assert b"no workload 41" in p.stderr
    # Without authentication, with a wrong token, and the Docker API: none through the zos port.
    assert call_tcp(serve.port, "GET", "/zos/v1/workloads")[0] == 401
    assert call_tcp(serve.port, "GET", "/zos/v1/node/info", auth="Bearer " + "0" * 64)[0] == 401
    assert call_tcp(serve.port, "POST", "/zos/v1/node/exec", {"argv": ["true"]},
                    auth=f"Tiffin-User id=7,time=0,signature={'0' * 128}")[0] == 401
    assert call_tcp(serve.port, "GET", "/containers/json")[0] == 404
    # A user's signed header is good once.
    assert SECRET not in json.dumps(call_tcp(serve.port, "GET", "/zos/v1/workloads/41", auth="Bearer " + token)[1])
    res = json.loads(cli("deploy", "--delete", 41, "--node", "n1", "--user", 7, "--key", seed7).stdout)
    assert res["state"] == "deleted"
    assert node.container_ids() == []
