"""Helpers for the engine tests: a node (tiffin with its own --root and a short --run-root), a
busybox image, and a check that nothing (mount, cgroup, process) outlives a test."""
import fcntl
import glob
import json
import os
import pty
import select
import struct
import termios
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import TIFFIN
from oci import busybox_rootfs


def _mounts_under(*dirs):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4]
            if any(mp == str(d) or mp.startswith(str(d) + "/") for d in dirs):
                out.append(mp)
    return out


class Node:
    """One engine state: `node("run", "--rm", img, "true")` runs tiffin against it."""

    def __init__(self, tmp: Path, dns_upstream="127.0.0.1:9"):
        self.root = tmp / "root"
        # Unix socket paths are short (108 bytes): the run root lives in /tmp, as podman's does.
        self.run_root = Path(tempfile.mkdtemp(prefix="tfr-", dir="/tmp"))
        # The node's resolver must never forward to the host's (MACHINE-NOTES): by default its
        # upstream is the discard port on loopback, where nothing answers.
        self.dns_upstream = dns_upstream

    # What runs tiffin: nothing, or (zosnet.py's nodes) nsenter into a node's network namespace.
    prefix = ()

    def __call__(self, *args, rc=0, input=None, timeout=60, env=None):
        p = subprocess.run([*self.prefix, TIFFIN, "--root", str(self.root), "--run-root", str(self.run_root),
                            "--dns-upstream", self.dns_upstream, *map(str, args)],
                           capture_output=True, input=input, timeout=timeout, env=env)
        assert p.returncode >= 0, f"tiffin {args} died with signal {-p.returncode}"
        if rc is not None:
            assert p.returncode == rc, (f"tiffin {args} exited {p.returncode}, wanted {rc}\n"
                                        f"stdout: {p.stdout.decode()}\nstderr: {p.stderr.decode()}")
        return p

    def full(self):
        """tiffin-full, beside tiffin: the flist verbs."""
        return str(Path(TIFFIN).parent / "tiffin-full")

    def out(self, *args, **kw):
        return self(*args, **kw).stdout.decode().strip()

    def inspect(self, ref):
        return json.loads(self.out("inspect", ref))[0]

    def rows(self, *verb):
        """A list verb's rows as docker's `--format json` prints them: a JSON object a line."""
        return [json.loads(line) for line in self.out(*verb, "--format", "json").splitlines()]

    def container_ids(self):
        return self.out("ps", "-a", "-q", "--no-trunc").split()

    def images(self):
        """docker's image inspect of every image."""
        ids = list(dict.fromkeys(self.out("images", "-q", "--no-trunc").split()))
        return json.loads(self.out("image", "inspect", *ids)) if ids else []

    def networks(self):
        return [json.loads(line) for line in self.out("network", "ls", "--no-trunc", "--format", "json").splitlines()]

    def kernel_leftovers(self):
        """Links, nftables tables and resolver processes of this node that are still there."""
        out = []
        ids = [n["ID"] for n in self.networks()] if (self.root / "tiffin.db").exists() else []
        for link in glob.glob("/sys/class/net/tf-*"):
            name = os.path.basename(link)
            if any(name == "tf-" + i[:8] for i in ids):
                out.append("bridge " + name)
        pidfile = self.run_root / "dns" / "resolver.pid"
        if pidfile.exists():
            try:
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, 9)  # a resolver lives until its directory is empty for a while
            except (ValueError, IndexError, ProcessLookupError):
                pass
        return out

    def cgroup_dirs(self, cid):
        return [d for d in glob.glob(f"/sys/fs/cgroup/*/tiffin/{cid}") + glob.glob(f"/sys/fs/cgroup/tiffin/{cid}")]

    def teardown(self):
        """Removes every container and image; returns what was left behind."""
        ids = []
        try:
            ids = self.container_ids()
            for cid in ids:
                self("rm", "-f", cid, rc=None)
            self("system", "prune", "-a", "--volumes", rc=None)
            self("network", "rm", "tiffin", rc=None)  # the default network, made on first use
        finally:
            leaks = []
            leaks += self.kernel_leftovers()
            for cid in ids:
                leaks += self.cgroup_dirs(cid)
            mounts = _mounts_under(self.root, self.run_root)
            leaks += mounts
            for mp in sorted(mounts, key=len, reverse=True):
                subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
            shutil.rmtree(self.run_root, ignore_errors=True)
        return leaks


def make_busybox_image(node: Node, tmp: Path, name="busybox"):
    rootfs = busybox_rootfs(tmp / f"{name}-rootfs")
    (rootfs / "etc" / "group").write_text("root:x:0:\nusers:x:100:\n")
    node("import", rootfs, name, "--cmd", "sh")
    return name


def run_in_pty(argv, answer=None, rows=33, cols=101, timeout=20):
    """Runs argv on a new terminal of rows×cols; writes `answer` once the program has printed its
    tty name. Returns (exit code, everything it printed)."""
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execv(argv[0], argv)
    out, sent = b"", False
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
        if answer is not None and b"/dev/pts/" in out and not sent:
            os.write(fd, answer)
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def wait_for(predicate, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def processes_with(needle, in_cgroup=False):
    """Pids whose command line (or, with in_cgroup, /proc/<pid>/cgroup) holds `needle`."""
    out = []
    for d in glob.glob("/proc/[0-9]*"):
        try:
            with open(d + ("/cgroup" if in_cgroup else "/cmdline"), "rb") as f:
                if needle.encode() in f.read():
                    out.append(int(os.path.basename(d)))
        except OSError:
            pass
    return out


@pytest.fixture
def node(tmp_path):
    """A node of its own for a test; afterwards nothing of it may be left (mounts, cgroups)."""
    n = Node(tmp_path)
    yield n
    leaks = n.teardown()
    assert not leaks, f"left behind: {leaks}"


@pytest.fixture
def image(node, tmp_path):
    return make_busybox_image(node, tmp_path)
