"""The Docker SDK for Python (python3-docker) against `tiffin serve`, as root: the lifecycle a
script goes through — images, run (detached and not), logs, exec, wait, stop, remove,
volumes, networks — and the errors it raises."""
import pytest

from apiserver import serve  # noqa: F401 (fixture)
from conftest import needs_root
from engine import image, node  # noqa: F401 (fixtures)

docker = pytest.importorskip("docker")
pytestmark = needs_root


@pytest.fixture
def client(serve):
    c = docker.DockerClient(base_url=f"unix://{serve.sock}", version="auto", timeout=60)
    yield c
    c.close()


def test_sdk_lifecycle(client, image):
    assert client.ping()
    assert client.version()["ApiVersion"] == "1.47"
    assert any(f"{image}:latest" in i.tags for i in client.images.list())
    assert client.containers.run(image, ["sh", "-c", "echo hello"], network_mode="none", remove=True) == b"hello\n"
    with pytest.raises(docker.errors.ContainerError) as failed:
        client.containers.run(image, ["sh", "-c", "echo oops >&2; exit 2"], network_mode="none", remove=True)
    assert failed.value.exit_status == 2
    c = client.containers.run(image, ["sleep", "1000"], detach=True, network_mode="none", name="sdk1", labels={"a": "b"},
                              environment={"X": "y"})
    assert c.status in ("created", "running")
    c.reload()
    assert c.status == "running" and c.labels["a"] == "b"
    assert [x.name for x in client.containers.list(filters={"label": "a=b"})] == ["sdk1"]
    code, out = c.exec_run(["sh", "-c", "echo $X; exit 5"])
    assert (code, out) == (5, b"y\n")
    c.stop(timeout=1)
    assert c.wait()["StatusCode"] == 137
    c.remove()
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("sdk1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.run("no-such-image-here", "true")


def test_sdk_volumes_and_networks(client, image):
    v = client.volumes.create("sdkvol")
    assert client.volumes.get("sdkvol").name == "sdkvol"
    client.containers.run(image, ["sh", "-c", "echo kept > /v/f"], volumes={"sdkvol": {"bind": "/v", "mode": "rw"}},
                          network_mode="none", remove=True)
    out = client.containers.run(image, ["cat", "/v/f"], volumes={"sdkvol": {"bind": "/v", "mode": "ro"}}, network_mode="none",
                                remove=True)
    assert out == b"kept\n"
    v.remove()
    n = client.networks.create("sdknet", driver="bridge")
    assert client.networks.get(n.id).name == "sdknet"
    n.remove()
    with pytest.raises(docker.errors.NotFound):
        client.networks.get("sdknet")
