"""`tiffin serve` for the tests: the Engine API on a unix socket of the test's own, over a
node's state, and the docker CLI pointed at it."""
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import TIFFIN

# Every docker CLI the machine has (the machine's 28.x in /usr/local/bin, Debian's 20.10 in
# /usr/bin), or $DOCKER_CLI alone.
DOCKERS = [os.environ["DOCKER_CLI"]] if os.environ.get("DOCKER_CLI") else \
    [p for p in ("/usr/local/bin/docker", "/usr/bin/docker") if os.path.exists(p)]
DOCKER = DOCKERS[0] if DOCKERS else "/usr/bin/docker"


class Serve:
    def __init__(self, node, sock: Path, *extra, docker=DOCKER):
        self.node, self.sock, self.cli = node, sock, docker
        sock.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = sock.parent / "serve.log"
        self.start(*extra)

    def start(self, *extra):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([TIFFIN, "--root", str(self.node.root), "--run-root", str(self.node.run_root),
                                      "--dns-upstream", self.node.dns_upstream, "serve", "-H", f"unix://{self.sock}", *extra],
                                     stdout=log, stderr=log, start_new_session=True)
        log.close()
        # Until it answers (a killed server's socket file may still be there).
        deadline = time.time() + 10
        while not self.answers():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("tiffin serve did not start: " + self.log_path.read_text())
            time.sleep(0.02)

    def answers(self):
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(str(self.sock))
                return True
            except OSError:
                return False

    def log(self):
        return self.log_path.read_text()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=15)

    def docker(self, *args, rc=0, input=None, timeout=60):
        env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}", DOCKER_CONFIG=str(self.sock.parent / "docker-config"))
        p = subprocess.run([self.cli, *map(str, args)], capture_output=True, input=input, timeout=timeout, env=env)
        if rc is not None:
            assert p.returncode == rc, (f"docker {args} exited {p.returncode}, wanted {rc}\nstdout: {p.stdout.decode()}\n"
                                        f"stderr: {p.stderr.decode()}\nserve log: {self.log()[-2000:]}")
        return p

    def out(self, *args, **kw):
        return self.docker(*args, **kw).stdout.decode().strip()


def cli_version(path):
    return subprocess.run([path, "--version"], capture_output=True, text=True).stdout.split()[2].strip(",")


@pytest.fixture(params=DOCKERS, ids=cli_version)
def serve_each_cli(node, tmp_path, request):
    """A serve driven by each docker CLI the machine has, in turn."""
    s = Serve(node, tmp_path / "api" / "d.sock", docker=request.param)
    yield s
    s.stop()


@pytest.fixture
def serve(node, tmp_path):
    s = Serve(node, tmp_path / "api" / "d.sock")
    yield s
    s.stop()
