"""Shared helpers for tiffin's end-to-end tests.

The tests drive the built `tiffin` binary (TIFFIN_BIN) as a user would, against real peers
started on loopback ports (redis-server, an HTTP server). Every resource a test makes lives in
pytest's tmp_path or is a child process stopped by a fixture, so nothing is left behind even
when a test fails.
"""
import hashlib
import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIFFIN = os.environ.get("TIFFIN_BIN", str(ROOT / "build" / "apps" / "tiffin"))
FIXTURES = Path(os.environ.get("TIFFIN_FIXTURES", str(ROOT / "tests" / "fixtures" / "rfs")))

# A name without a registry host ("busybox") is pulled from the search registries when the store
# lacks it: docker.io by default. Tests never reach outside the machine (no lookups of outside
# names), so in tests there are none; registry tests name their loopback registry in full.
os.environ["TIFFIN_SEARCH_REGISTRIES"] = ""

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (owners, devices, trusted xattrs)")
# Tests that compare output with peers (dockerd), and tests of scale or volume whose code paths
# smaller tests already take, run once, in the release build: under the sanitizers
# (TIFFIN_SANITIZED, set by the sanitizer build's ctest) the parsing and lifecycle tests run, to
# keep CI within its time. Tests that are both shrink their loops there (SANITIZED).
SANITIZED = os.environ.get("TIFFIN_SANITIZED") == "1"
release_only = pytest.mark.skipif(SANITIZED, reason="a comparison with peers, or scale: run in the release build only")


def tiffin(*args, rc=0, input=None, timeout=300):
    """Runs tiffin; asserts the exit code (None: any) and that it was not killed by a signal."""
    p = subprocess.run([TIFFIN, *map(str, args)], capture_output=True, input=input, timeout=timeout)
    assert p.returncode >= 0, f"tiffin {args} died with signal {-p.returncode}: {p.stderr.decode()}"
    if rc is not None:
        assert p.returncode == rc, f"tiffin {args} exited {p.returncode}, wanted {rc}\nstdout: {p.stdout.decode()}\nstderr: {p.stderr.decode()}"
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class Server:
    def __init__(self, argv, port, cwd=None):
        self.argv, self.port, self.cwd = argv, port, cwd
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def redis(tmp_path):
    port = free_port()
    s = Server(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(tmp_path)], port).start()
    yield s
    s.stop()


@pytest.fixture
def http_server():
    servers = []

    def serve(directory):
        port = free_port()
        s = Server(["/usr/bin/python3", "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(directory)], port).start()
        servers.append(s)
        return s

    yield serve
    for s in servers:
        s.stop()


def snapshot(root):
    """Everything a round trip must keep, per path: type, mode, owner, size, mtime, device,
    link target, content hash, xattrs, and which paths share an inode (hard links)."""
    root = Path(root)
    out, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [""] + dirnames + filenames if dirpath == str(root) else dirnames + filenames:
            p = Path(dirpath) / name if name else root
            rel = "/" + str(p.relative_to(root)) if name else "/"
            st = os.lstat(p)
            if stat.S_ISSOCK(st.st_mode):
                continue
            entry = {"mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid, "mtime": int(st.st_mtime)}
            if stat.S_ISREG(st.st_mode):
                entry["size"] = st.st_size
                entry["sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()
                if st.st_nlink > 1:
                    inodes.setdefault(st.st_ino, []).append(rel)
            if stat.S_ISLNK(st.st_mode):
                entry["target"] = os.readlink(p)
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                entry["rdev"] = st.st_rdev
            try:
                entry["xattrs"] = {k: os.getxattr(p, k, follow_symlinks=False) for k in sorted(os.listxattr(p, follow_symlinks=False))}
            except OSError:
                entry["xattrs"] = {}
            out[rel] = entry
    groups = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return out, groups


def mounted(path):
    return any(line.split()[1] == str(path) for line in open("/proc/mounts"))


def serving(path):
    """Mounted and answering (a dead mount is listed but answers ENOTCONN)."""
    try:
        # statvfs reaches the daemon; stat may be answered from cached attributes of a dead mount.
        return mounted(path) and os.statvfs(path).f_flag & os.ST_RDONLY and \
            os.stat(path).st_dev != os.stat(Path(path).parent).st_dev
    except OSError:
        return False


def cache_blocks(cache):
    return [p for p in Path(cache).rglob("*") if p.is_file() and len(p.name) == 64]


@pytest.fixture
def mounts():
    """Starts mounts in the foreground (so tests can signal them) and always cleans them up."""
    started = []

    def mount(fl, mnt, *args):
        try:
            mnt.mkdir()
        except OSError:  # exists, or is a dead mount (ENOTCONN) the new mount is to clean up
            pass
        p = subprocess.Popen([TIFFIN, "flist", "mount", str(fl), str(mnt), *map(str, args)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append((p, mnt))
        deadline = time.time() + 10
        while not serving(mnt):
            assert p.poll() is None, f"mount exited: {p.stderr.read().decode()}"
            assert time.time() < deadline, "mount did not come up"
            time.sleep(0.05)
        return p

    yield mount
    for p, mnt in started:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for _ in range(5):
            if not mounted(mnt):
                break
            subprocess.run(["umount", "-l", str(mnt)])
