"""docker-compose 1.29 (Debian) against `tiffin serve`, as root: a two-service app — a web
service that fetches from a db service by its name over the project's network, with a named
volume — brought up, listed, exec'd into, its logs read, and taken down with its volume and
network; and the same app under a dockerd of the test's own (with networking: the host's
iptables, ip_forward and docker0 are put back after it) giving the same `ps`, `logs` and answer."""
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from apiserver import serve  # noqa: F401 (fixture)
from conftest import needs_root, release_only
from engine import image, node, wait_for  # noqa: F401 (fixtures)

pytestmark = [needs_root, pytest.mark.skipif(not shutil.which("docker-compose"), reason="no docker-compose")]

COMPOSE = """version: "3"
services:
  db:
    image: {image}
    command: ["sh", "-c", "mkdir -p /www && echo from-db > /www/index.html && echo db-ready && httpd -f -p 8080 -h /www"]
  web:
    image: {image}
    command: ["sh", "-c", "until wget -qO- http://db:8080/ > /data/got; do sleep 0.2; done; echo web-got-it; exec sleep 1000"]
    volumes:
      - data:/data
    depends_on: [db]
volumes:
  data:
"""


def test_two_services_up_exec_logs_down(serve, node, image, tmp_path):
    (tmp_path / "docker-compose.yml").write_text(COMPOSE.format(image=image))
    env = dict(os.environ, DOCKER_HOST=f"unix://{serve.sock}", COMPOSE_INTERACTIVE_NO_CLI="1")

    def compose(*args, timeout=120):
        p = subprocess.run(["docker-compose", "-p", "app", *args], cwd=tmp_path, env=env, capture_output=True, timeout=timeout)
        assert p.returncode == 0, f"docker-compose {args}: {p.stderr.decode()}\nserve: {serve.log()[-2000:]}"
        return p.stdout.decode()

    compose("up", "-d")
    listing = compose("ps")
    assert "app_db_1" in listing and "app_web_1" in listing and listing.count(" Up ") == 2, listing
    wait_for(lambda: compose("exec", "-T", "web", "cat", "/data/got").strip() == "from-db", timeout=30, what="web to reach db by name")
    logs = compose("logs", "--no-color")
    assert "db-ready" in logs and "web-got-it" in logs, logs
    # The CLI sees compose's containers, with compose's labels.
    names = {c["Names"] for c in node.rows("ps")}
    assert {"app_db_1", "app_web_1"} <= names
    compose("down", "-v")
    assert node.container_ids() == []
    assert "app_data" not in node.out("volume", "ls")
    assert "app_default" not in node.out("network", "ls")


def compose_story(host, project_dir, image):
    """up, the web service's answer from db, ps and logs (normalised), down -v."""
    (project_dir / "docker-compose.yml").write_text(COMPOSE.format(image=image))
    env = dict(os.environ, DOCKER_HOST=host, COMPOSE_INTERACTIVE_NO_CLI="1")

    def compose(*args, timeout=120):
        p = subprocess.run(["docker-compose", "-p", "app", *args], cwd=project_dir, env=env, capture_output=True, timeout=timeout)
        assert p.returncode == 0, f"docker-compose {args} against {host}: {p.stderr.decode()}"
        return p.stdout.decode()

    try:
        compose("up", "-d")
        got = wait_for(lambda: compose("exec", "-T", "web", "cat", "/data/got").strip(), timeout=30, what="web to reach db")
        wait_for(lambda: "web-got-it" in compose("logs", "--no-color"), timeout=30, what="web's log")
        ps = compose("ps")
        # Both services' lines in the order they came (two services, two streams each).
        logs = sorted(compose("logs", "--no-color").splitlines())
        return got, re.sub(r" +", " ", ps), logs
    finally:
        compose("down", "-v")


@release_only
def test_same_app_under_dockerd(serve, node, image, tmp_path):
    from dockerd import Docker
    from netenv import HostNetState
    from oci import busybox_rootfs
    if not shutil.which("dockerd"):
        pytest.skip("no dockerd")
    rootfs = tmp_path / f"{image}-rootfs"  # the image fixture's content
    if not rootfs.exists():
        busybox_rootfs(rootfs)
    archive = tmp_path / "rootfs.tar"
    with tarfile.open(archive, "w") as t:
        for p in sorted(rootfs.iterdir()):
            t.add(p, arcname=p.name)
    (tmp_path / "tiffin").mkdir()
    (tmp_path / "dockerd").mkdir()
    tiffin = compose_story(f"unix://{serve.sock}", tmp_path / "tiffin", image)
    host = HostNetState()
    docker = Docker(tmp_path)
    try:
        assert docker.start_with_network(), "dockerd did not start"
        subprocess.run(docker.cli("import", "--change", 'CMD ["sh"]', str(archive), image), check=True, capture_output=True)
        dockerd = compose_story(docker.sock, tmp_path / "dockerd", image)
    finally:
        docker.stop()
        host.restore()
    assert tiffin[0] == dockerd[0] == "from-db"
    assert tiffin[1] == dockerd[1], f"docker-compose ps:\ndockerd:\n{dockerd[1]}\ntiffin:\n{tiffin[1]}"
    assert tiffin[2] == dockerd[2], f"docker-compose logs:\ndockerd:\n{dockerd[2]}\ntiffin:\n{tiffin[2]}"
