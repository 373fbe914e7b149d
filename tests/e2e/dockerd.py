"""A dockerd of a test's or a benchmark's own (MACHINE-NOTES): its data, exec root and socket in
a temp dir, pulls from Docker Hub failing at once on loopback; stop() takes everything away."""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path


class Docker:
    def __init__(self, tmp):
        self.dir = Path(tempfile.mkdtemp(prefix="dk-", dir="/tmp"))
        self.sock = f"unix://{self.dir}/d.sock"
        self.proc = None

    def start(self):
        return self._start(["--bridge=none", "--iptables=false", "--ip-forward=false"])

    def start_with_network(self):
        """With docker0, iptables and the userland proxy, as a user has it; the caller puts the
        host's iptables and ip_forward back (bench/net_bench.py's HostNetState)."""
        return self._start(["--dns", "127.0.0.1"])

    def _start(self, flags):
        if not shutil.which("dockerd"):
            return False
        # A pull of a missing image would look up Docker Hub through the host's resolver: fail it
        # on loopback at once instead (MACHINE-NOTES).
        env = dict(os.environ, HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost")
        self.proc = subprocess.Popen(["dockerd", "--storage-driver=overlay2", "-H", self.sock, "--data-root", f"{self.dir}/data",
                                      "--exec-root", f"{self.dir}/exec", "--pidfile", f"{self.dir}/pid", *flags],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        for _ in range(300):
            if subprocess.run(self.cli("info"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def cli(self, *args):
        return ["docker", "-H", self.sock, *args]

    def stop(self):
        if self.proc:
            subprocess.run(self.cli("rm", "-f", *subprocess.run(self.cli("ps", "-aq"), capture_output=True, text=True).stdout.split()),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        subprocess.run(["umount", "-R", "-l", f"{self.dir}/data"], stderr=subprocess.DEVNULL)
        subprocess.run(["umount", "-R", "-l", f"{self.dir}/exec"], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)
