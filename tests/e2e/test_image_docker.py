"""Round trips with a real dockerd (a daemon of the test's own, no network): `docker save |
tiffin load; tiffin run` and `tiffin save | docker load; docker run` give the same output."""
import shutil
import subprocess

import pytest

from conftest import needs_root
from dockerd import Docker
from engine import node  # noqa: F401 (fixture)
from ociimage import busybox_members, tar_bytes

pytestmark = [needs_root, pytest.mark.skipif(not shutil.which("dockerd"), reason="needs dockerd")]


@pytest.fixture
def docker(tmp_path):
    d = Docker(tmp_path)
    if not d.start():
        d.stop()
        pytest.fail("dockerd did not start")
    yield d
    d.stop()


def test_docker_and_tiffin_trade_images(node, tmp_path, docker):
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(tar_bytes(busybox_members() + [("file", "marker", b"from docker\n", 0o644)]))
    subprocess.run(docker.cli("import", "--change", 'CMD ["cat", "/marker"]', str(rootfs), "dk/bb:1"), check=True, capture_output=True)
    want = subprocess.run(docker.cli("run", "--rm", "--network", "none", "dk/bb:1"), capture_output=True, check=True).stdout
    # docker save | tiffin load
    saved = subprocess.run(docker.cli("save", "dk/bb:1"), capture_output=True, check=True).stdout
    assert "Loaded image: dk/bb:1" in node("load", input=saved).stdout.decode()
    assert node("run", "--rm", "--network", "none", "dk/bb:1").stdout == want
    # tiffin save | docker load, under another name
    node("tag", "dk/bb:1", "tf/bb:2")
    archive = subprocess.run([node.full(), "--root", node.root, "--run-root", node.run_root, "save", "tf/bb:2"],
                             capture_output=True, check=True).stdout
    p = subprocess.run(docker.cli("load"), input=archive, capture_output=True)
    assert p.returncode == 0, p.stderr
    assert subprocess.run(docker.cli("run", "--rm", "--network", "none", "tf/bb:2"), capture_output=True, check=True).stdout == want
