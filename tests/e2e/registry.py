"""A real registry for the tests: Debian's docker-registry (Distribution 2.8) on a loopback port
with its storage in a temp dir, optionally behind htpasswd basic auth; images pushed with
skopeo from OCI layouts (ociimage.py)."""
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port


def htpasswd_line(user, password):
    """A bcrypt htpasswd line (the registry accepts only bcrypt; Debian's libxcrypt makes it)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        return f"{user}:{crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))}\n"


class Registry:
    def __init__(self, tmp: Path, users=None):
        self.dir = tmp
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.users = users or {}
        lines = ["version: 0.1", "log:", "  level: info", "storage:", "  filesystem:",
                 f"    rootdirectory: {self.dir / 'data'}", "  delete:", "    enabled: true",
                 "http:", f"  addr: {self.host}"]
        if self.users:
            (self.dir / "htpasswd").write_text("".join(htpasswd_line(u, p) for u, p in self.users.items()))
            lines += ["auth:", "  htpasswd:", "    realm: test", f"    path: {self.dir / 'htpasswd'}"]
        (self.dir / "config.yml").write_text("\n".join(lines) + "\n")
        self.log = open(self.dir / "registry.log", "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.dir / "config.yml")], stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # 401: up, asking for auth
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("the registry did not start: " + (self.dir / "registry.log").read_text())
                time.sleep(0.05)

    def push(self, layout_dir, tag, name, user=None):
        """skopeo copy oci:<layout>:<tag> docker://<this registry>/<name>."""
        argv = ["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--all"]
        if user:
            argv += ["--dest-creds", f"{user}:{self.users[user]}"]
        subprocess.run(argv + [f"oci:{layout_dir}:{tag}", f"docker://{self.host}/{name}"], check=True, capture_output=True)
        return f"{self.host}/{name}"

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return self.dir / "data/docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def registry(tmp_path):
    """A registry without auth, for one test."""
    r = Registry(tmp_path / "registry")
    yield r
    r.stop()
