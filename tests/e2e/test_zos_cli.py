"""`zos …` — ThreeFold's zos command line (seed 002's) against a node's `tiffin serve --zos` on a
loopback port, as root: configure/ping/cmd/exec, containers made from the seed's flags and
Zero-OS's extraconfig (checked on the node: hostname, env, ports, mounts, files, networks),
list/info/inspect/delete, sshenable (a clear refusal without an sshd; with the host's dropbear
copied into an image, a real ssh login) and `shell` through a pty over the hijacked
/zos/v1/containers/{id}/exec. The CLI has a HOME of its own; nothing leaves 127.0.0.1 and the
bridges the node makes."""
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TIFFIN, free_port, needs_root, wait_port
from engine import node, wait_for  # noqa: F401 (fixtures)
from oci import busybox_rootfs

pytestmark = needs_root

ZOS = str(Path(TIFFIN).parent / "zos")
# What the scripts zos runs in containers use, beyond the common applets (a real flist has them).
ZOS_APPLETS = ["mkdir", "chmod", "pidof", "nc", "stty", "printf", "base64"]


def zos_image(node, tmp, name, cmd="sh", extra=None):
    rootfs = busybox_rootfs(tmp / f"{name}-rootfs")
    for a in ZOS_APPLETS:
        (rootfs / "bin" / a).symlink_to("busybox")
    (rootfs / "etc" / "group").write_text("root:x:0:\n")
    if extra:
        extra(rootfs)
    node("import", rootfs, name, *(["--cmd", cmd] if cmd else []))
    return name


class ZosServe:
    """`tiffin serve --zos tcp://127.0.0.1:PORT` over the node, its admin token, and the zos CLI
    with a HOME (and nodes.json) of its own."""

    def __init__(self, node, tmp: Path):
        self.node, self.tmp = node, tmp
        self.port = free_port()
        self.home = tmp / "home"
        (self.home / ".ssh").mkdir(parents=True)
        self.env = dict(os.environ, HOME=str(self.home), XDG_CONFIG_HOME=str(self.home / ".config"))
        self.env.pop("TIFFIN_NODE", None)
        (tmp / "api").mkdir()
        self.log_path = tmp / "serve.log"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [TIFFIN, "--root", str(node.root), "--run-root", str(node.run_root), "--dns-upstream", node.dns_upstream,
                 "serve", "-H", f"unix://{tmp}/api/d.sock", "--zos", f"tcp://127.0.0.1:{self.port}"],
                stdout=log, stderr=log, start_new_session=True)
        wait_port(self.port)
        self.token = node.out("node", "token")

    def __call__(self, *args, rc=0, input=None, timeout=120, env=None, binary=ZOS):
        p = subprocess.run([binary, *map(str, args)], capture_output=True, input=input, timeout=timeout,
                           env=dict(self.env, **(env or {})))
        assert p.returncode >= 0, f"zos {args} died with signal {-p.returncode}"
        if rc is not None:
            assert p.returncode == rc, (f"zos {args} exited {p.returncode}, wanted {rc}\nstdout: {p.stdout.decode()}\n"
                                        f"stderr: {p.stderr.decode()}\nserve: {self.log_path.read_text()[-2000:]}")
        return p

    def out(self, *args, **kw):
        return self(*args, **kw).stdout.decode().strip()

    def configure(self, name="n1", token=None):
        self("configure", "--name", name, "--address", "127.0.0.1", "--port", self.port,
             "--token", self.token if token is None else token)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=15)


@pytest.fixture
def zos(node, tmp_path):
    z = ZosServe(node, tmp_path)
    z.configure()
    yield z
    z.stop()


@pytest.fixture
def image(node, tmp_path):
    return zos_image(node, tmp_path, "zbox")


def new_container(zos, *args):
    cid = zos.out("container", "new", *args)
    assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
    return cid


# ---- the node


def test_configure_ping_cmd_exec(zos, node):
    nodes = json.loads((zos.home / ".config" / "tiffin" / "nodes.json").read_text())
    assert nodes["default"] == "n1"
    assert nodes["nodes"]["n1"] == {"url": f"http://127.0.0.1:{zos.port}", "token": zos.token}
    assert os.stat(zos.home / ".config" / "tiffin" / "nodes.json").st_mode & 0o777 == 0o600

    node_id = node.out("node", "id").split()[-1]
    assert zos.out("cmd", "core.ping").startswith(f"PONG {node_id}")
    assert zos.out("ping").startswith("PONG")
    disks = json.loads(zos.out("cmd", "disk.list"))
    assert [d["name"] for d in disks] == [d["name"] for d in json.loads(node.out("node", "disks", "--format", "json"))]
    assert json.loads(zos.out("cmd", "info"))["node_id"] == node_id
    p = zos("cmd", "core.nonsense", rc=1)
    assert b"core.ping" in p.stderr

    # On the node's host: one string through sh -c (the seed's form), or the words as they are.
    p = zos("exec", "echo hi; id -u; exit 3", rc=3)
    assert p.stdout.decode().split() == ["hi", "0"]
    assert zos.out("exec", "printf", "%s|", "a b", "$(id)") == "a b|$(id)|"
    assert zos.out("cmd", "core.system", "--jsonargs", '{"name": "echo", "args": ["x", "y"]}') == "x y"

    # The same through tiffin's verb (the lean binary hands it to tiffin-full), and as a program
    # named zos that links to the lean tiffin.
    assert zos("zos", "ping", binary=TIFFIN).stdout.decode().startswith("PONG")
    link = zos.tmp / "bin" / "zos"
    link.parent.mkdir()
    link.symlink_to(TIFFIN)
    assert zos("ping", binary=str(link)).stdout.decode().startswith("PONG")
    assert os.readlink(ZOS) == "tiffin-full"


def test_nodes_file_default_and_overrides(zos, node):
    # `tiffin node add` keeps the default; the other verbs see the configured node.
    zos("node", "add", "other", "http://127.0.0.1:9", binary=TIFFIN)
    assert json.loads((zos.home / ".config" / "tiffin" / "nodes.json").read_text())["default"] == "n1"
    assert "n1" in zos.out("node", "ls", binary=TIFFIN)
    shown = zos.out("showconfig")
    assert re.search(r"^\* n1 ", shown, re.M) and re.search(r"^  other ", shown, re.M)
    # --node and TIFFIN_NODE win over the default.
    p = zos("--node", "other", "ping", rc=1)
    assert b"127.0.0.1:9" in p.stderr
    p = zos("ping", rc=1, env={"TIFFIN_NODE": "other"})
    p = zos("ping", rc=2, env={"TIFFIN_NODE": "nosuch"})
    assert b"no node 'nosuch'" in p.stderr
    zos("setdefault", "other")
    zos("ping", rc=1)
    zos("setdefault", "n1")
    zos("remove", "--name", "other")
    assert "other" not in zos.out("showconfig")
    # A wrong token is refused by the node, and said so.
    zos.configure("bad", token="0" * 64)
    p = zos("--node", "bad", "cmd", "disk.list", rc=2)
    assert b"401" in p.stderr
    p = zos("--node", "bad", "container", "list", rc=2)
    assert b"401" in p.stderr
    # Without any node configured, the error says what to do.
    p = zos("ping", rc=2, env={"XDG_CONFIG_HOME": str(zos.tmp / "empty")})
    assert b"zos configure" in p.stderr


# ---- containers


def test_container_new_list_info_exec_delete(zos, node, image, tmp_path):
    hostdir = tmp_path / "hostdir"
    hostdir.mkdir()
    (hostdir / "f").write_text("from the host\n")
    port = free_port()
    extra = {"env": {"C": "x y"}, "mount": {str(hostdir): "/data"},
             "config": {"/etc/app/conf.txt": "line 1\n$(id) `id` ; rm -rf /\n"}}
    cid = new_container(zos, "--name", "web", "--root", image, "--hostname", "webhost", "--ports", f"{port}:80",
                        "--env", "A=1,B=two", "--extraconfig", json.dumps(extra))
    info = node.inspect("web")
    assert info["Id"] == cid and info["State"]["Status"] == "running"
    assert info["Config"]["Hostname"] == "webhost"
    assert {"A=1", "B=two", "C=x y"} <= set(info["Config"]["Env"])
    assert info["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": str(port)}]}

    # What the container sees, by name and by id, in the seed's order and in tiffin's.
    assert zos.out("container", "web", "exec", "hostname") == "webhost"
    assert zos.out("container", "exec", cid, "echo $A $B $C") == "1 two x y"
    assert zos.out("container", cid[:12], "exec", "cat /data/f") == "from the host"
    assert zos.out("container", "web", "exec", "cat", "/etc/app/conf.txt") == "line 1\n$(id) `id` ; rm -rf /"
    assert zos("container", "web", "exec", "exit 7", rc=7)
    # The published port reaches the container.
    zos("container", "web", "exec", "nc -l -p 80 -e echo served </dev/null >/dev/null 2>&1 &")

    def served():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                return s.recv(100)
        except OSError:
            return None
    assert wait_for(served, what="the published port") == b"served\n"

    rows = zos.out("container", "list").splitlines()
    assert rows[0].split() == ["ID", "NAME", "FLIST/IMAGE", "STATUS"]
    assert rows[1].split()[:4] == [cid[:12], "web", image, "Up"]
    listed = json.loads(zos.out("container", "list", "--json"))
    assert [(c["id"], c["name"], c["root"], c["state"]) for c in listed] == [(cid, "web", image, "running")]
    i = json.loads(zos.out("container", "web", "info"))
    assert (i["id"], i["name"], i["root"], i["hostname"], i["status"]) == (cid, "web", image, "webhost", "running")
    assert i["pid"] > 0 and len(i["addresses"]) == 1
    assert json.loads(zos.out("container", "info"))[0]["id"] == cid
    assert json.loads(zos.out("container", "inspect", "web"))["Id"] == cid
    assert json.loads(zos.out("cmd", "corex.list"))[0]["ID"] == cid

    zos("container", "web", "delete")
    assert node.container_ids() == []
    p = zos("container", "web", "delete", rc=2)
    assert b"no such container" in p.stderr.lower()
    p = zos("container", "web", "info", rc=2)
    assert b"no such container" in p.stderr.lower()


def test_container_networks_and_images_without_a_program(zos, node, image, tmp_path):
    node("network", "create", "zn1")
    cid = new_container(zos, "--name", "two", "--root", image, "--extraconfig",
                        json.dumps({"nics": [{"type": "default"}, {"type": "bridge", "id": "zn1"}]}))
    nets = node.inspect(cid)["NetworkSettings"]["Networks"]
    assert set(nets) == {"tiffin", "zn1"}
    addrs = json.loads(zos.out("container", "two", "info"))["addresses"]
    assert sorted(addrs) == sorted(n["IPAddress"] for n in nets.values())

    new_container(zos, "--name", "hostnet", "--root", image, "--extraconfig", '{"host_network": true}')
    assert node.inspect("hostnet")["HostConfig"]["NetworkMode"] == "host"

    # An flist that names no program stays up as Zero-OS's did (a shell on a held stdin), and the
    # first, refused attempt leaves no record behind.
    bare = zos_image(node, tmp_path, "bare", cmd=None)
    cid = new_container(zos, "--name", "bare", "--root", bare)
    assert node.inspect(cid)["State"]["Status"] == "running"
    assert [c for c in node.container_ids() if node.inspect(c)["Name"] == "/bare"] == [cid]
    time.sleep(0.5)
    assert node.inspect(cid)["State"]["Status"] == "running"


@pytest.mark.parametrize("extra,code,says", [
    ({"volumes": {}}, 2, "unknown key 'volumes'"),
    ({"mount": {"https://hub.grid.tf/tf-official-apps/base:latest.flist": "/mnt"}}, 1, "flist as a volume"),
    ({"nics": [{"type": "zerotier", "id": "9bee8941b5717835"}]}, 1, "'zerotier' are not supported"),
    ({"nics": [{"type": "bridge", "id": "nosuchnet"}]}, 1, "nosuchnet"),
    ({"cgroups": [["cpuset", "big"]]}, 1, "named cgroups"),
    ({"config": {"relative/path": "x"}}, 2, "absolute file path"),
])
def test_container_new_refusals(zos, node, image, extra, code, says):
    p = zos("container", "new", "--name", "refused", "--root", image, "--extraconfig", json.dumps(extra), rc=code)
    assert says in p.stderr.decode()
    assert node.container_ids() == []


def test_container_new_bad_flags(zos, node, image):
    p = zos("container", "new", "--name", "x", "--root", image, "--extraconfig", "[1]", rc=2)
    assert b"JSON object" in p.stderr
    p = zos("container", "new", "--name", "x", "--root", image, "--env", "NOVALUE", rc=2)
    assert b"KEY=VALUE" in p.stderr
    p = zos("container", "new", "--name", "x", "--root", image, "--ports", "80", rc=2)
    assert b"host:container" in p.stderr
    zos("container", "new", "--root", image, rc=2)
    assert node.container_ids() == []


# ---- sshenable


def dropbear_image(node, tmp):
    """The host's dropbear (Debian's dropbear-bin) and the libraries it loads, in a busybox image."""
    binary = shutil.which("dropbear") or "/usr/sbin/dropbear"
    libs = re.findall(r"(/\S+\.so[.\d]*)", subprocess.run(["ldd", binary], capture_output=True, text=True).stdout)

    def add(rootfs):
        for path in [binary, *libs]:
            dst = rootfs / path.lstrip("/")
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dst, follow_symlinks=True)
        (rootfs / "etc" / "shells").write_text("/bin/sh\n")
    return zos_image(node, tmp, "dbear", extra=add)


def test_sshenable_without_an_sshd(zos, node, image):
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJp5bUz0ZwAT8Gk0ZCtXxXAMPLEKEYONLY test@zos"
    (zos.home / ".ssh" / "id_ed25519.pub").write_text(key + "\n")
    new_container(zos, "--name", "nossh", "--root", image)
    p = zos("container", "nossh", "sshenable", rc=1)
    assert b"neither dropbear nor OpenSSH's /usr/sbin/sshd" in p.stderr
    # Refused before anything was written.
    zos("container", "nossh", "exec", "test -e /root/.ssh", rc=1)
    # No key at all, and a file that is no key.
    (zos.home / ".ssh" / "id_ed25519.pub").unlink()
    p = zos("container", "nossh", "sshenable", rc=2)
    assert b"no public key" in p.stderr
    (zos.tmp / "junk.pub").write_bytes(b"\x01\x02 junk\n")
    p = zos("container", "nossh", "sshenable", "--key", zos.tmp / "junk.pub", rc=2)
    assert b"not an OpenSSH public key" in p.stderr


@pytest.mark.skipif(not (shutil.which("dropbear") or os.path.exists("/usr/sbin/dropbear")) or not shutil.which("ssh-keygen"),
                    reason="needs the host's dropbear (apt-get install dropbear-bin) and ssh-keygen")
def test_sshenable_with_dropbear(zos, node, tmp_path):
    img = dropbear_image(node, tmp_path)
    key = tmp_path / "id_test"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    new_container(zos, "--name", "sshbox", "--root", img)
    out = zos.out("container", "sshbox", "sshenable", "--key", f"{key}.pub")
    ip = json.loads(zos.out("container", "sshbox", "info"))["addresses"][0]
    assert out.splitlines() == ["sshd: dropbear (1 key)", f"ssh root@{ip}"]
    assert zos.out("container", "sshbox", "sshinfo") == f"root@{ip}"
    # authorized_keys: the key once (a second sshenable adds nothing), 0600 in a 0700 directory.
    zos("container", "sshbox", "sshenable", "--keys-from", str(tmp_path / "*.pub"))
    ak = zos.out("container", "sshbox", "exec", "cat /root/.ssh/authorized_keys")
    assert ak == Path(f"{key}.pub").read_text().strip()
    assert zos.out("container", "sshbox", "exec", "stat -c %a /root/.ssh /root/.ssh/authorized_keys").split() == ["700", "600"]

    def banner():
        try:
            with socket.create_connection((ip, 22), timeout=2) as s:
                return s.recv(64)
        except OSError:
            return None
    assert wait_for(banner, what="dropbear's banner").startswith(b"SSH-2.0-dropbear")
    if shutil.which("ssh"):
        p = subprocess.run(["ssh", "-F", "/dev/null", "-i", key, "-o", "StrictHostKeyChecking=no", "-o",
                            "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", f"root@{ip}", "echo $((6*7)); hostname"],
                           capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stdout.decode().split() == ["42", "sshbox"]


# ---- shell


def drive_pty(argv, env, lines, rows=33, cols=101, timeout=30):
    """Runs argv on a new rows×cols terminal; types each of `lines` once a prompt ("# ") shows.
    Returns (exit code, everything printed)."""
    pid, fd = pty.fork()
    if pid == 0:
        import fcntl
        import struct
        import termios
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execve(argv[0], argv, env)
    out, pending, seen = b"", list(lines), 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if pending and out.count(b"# ") > seen:
            seen = out.count(b"# ")
            os.write(fd, pending.pop(0))
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def test_shell_through_a_terminal(zos, node, image, tmp_path):
    new_container(zos, "--name", "sh1", "--root", image)
    rc, out = drive_pty([ZOS, "container", "sh1", "shell"], zos.env, [b"echo $((6*7)); exit\r"])
    assert rc == 0, out
    assert b"\r\n42\r\n" in out
    # The size of this terminal, a terminal there, and the exit code; this terminal restored.
    script = f"stty -g > {tmp_path}/before; {ZOS} container sh1 shell; code=$?; stty -g > {tmp_path}/after; exit $code"
    rc, out = drive_pty(["/bin/sh", "-c", script], zos.env, [b"stty size; tty; exit 5\r"], rows=27, cols=93)
    assert rc == 5, out
    assert b"27 93\r\n/dev/pts/" in out
    assert (tmp_path / "before").read_text() == (tmp_path / "after").read_text()
    # A command instead of the shell.
    rc, out = drive_pty([ZOS, "container", "sh1", "shell", "sh", "-c", "echo only; exit 3"], zos.env, [])
    assert rc == 3 and b"only" in out


def test_shell_without_a_terminal(zos, node, image):
    new_container(zos, "--name", "sh2", "--root", image)
    p = zos("container", "sh2", "shell", input=b"echo $((6*7)); echo oops >&2; exit 4\n", rc=4)
    assert p.stdout == b"42\n" and p.stderr == b"oops\n"
    # stdin's end is the program's.
    p = zos("container", "sh2", "shell", "cat", input=b"all of it\n")
    assert p.stdout == b"all of it\n"


def test_shell_refusals(zos, node, image):
    p = zos("container", "nosuch", "shell", rc=2, input=b"")
    assert b"No such container: nosuch" in p.stderr
    new_container(zos, "--name", "stopped", "--root", image)
    node("stop", "-t", "0", "stopped")
    p = zos("container", "stopped", "shell", rc=2, input=b"")
    assert b"is not running" in p.stderr
    zos.configure("bad", token="0" * 64)
    p = zos("--node", "bad", "container", "stopped", "shell", rc=2, input=b"")
    assert b"401" in p.stderr
    # The route is the admin's: a request without the token is refused before any upgrade.
    with socket.create_connection(("127.0.0.1", zos.port)) as s:
        s.sendall(b"POST /zos/v1/containers/stopped/exec HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                  b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n{}")
        assert s.recv(100).startswith(b"HTTP/1.1 401")
