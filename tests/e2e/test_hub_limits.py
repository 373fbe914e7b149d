"""The hub against hostile clients, end to end: one client holding 1000 idle connections and
another trickling a header that never ends must not stop a third client's requests."""
import resource
import socket
import threading
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import TIFFIN, Server, free_port, needs_root

pytestmark = needs_root


def metric(url, name):
    """The value of sample `name` ("family{label=\"v\"}") on /metrics, as Prometheus's own
    parser reads the page: a page it rejects fails the test."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        page = r.read().decode()
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sample.labels.items())
            if (f"{sample.name}{{{labels}}}" if labels else sample.name) == name:
                return sample.value
    raise AssertionError(f"{name} is not on /metrics")


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


@pytest.fixture
def hub(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    port = free_port()
    h = Server([TIFFIN, "hub", "serve", "--root", tmp_path / "hub", "-l", f"127.0.0.1:{port}", "--header-timeout", "3"],
               port).start()
    h.url = f"http://127.0.0.1:{port}"
    yield h
    h.stop()
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_idle_and_slow_clients_do_not_stop_a_third(hub):
    idle, slow_cut = [], {}
    try:
        # Client one (127.0.0.2): 1000 connections that never say anything.
        for _ in range(1000):
            try:
                idle.append(connect_from("127.0.0.2", hub.port))
            except OSError:
                break  # the hub may refuse past its per-client limit; the backlog is the kernel's
        assert len(idle) >= 512

        # Client two (127.0.0.3): a header, a byte every 200 ms, never finished.
        def trickle():
            s = connect_from("127.0.0.3", hub.port)
            start = time.monotonic()
            try:
                for c in b"GET /api/flist HTTP/1.1\r\nHost: hub\r\nX-Slow: " + b"a" * 10000:
                    s.send(bytes([c]))
                    time.sleep(0.2)
            except OSError:
                slow_cut["after"] = time.monotonic() - start
            finally:
                s.close()

        t = threading.Thread(target=trickle, daemon=True)
        t.start()

        # Client three (127.0.0.1): every request answered, each within a second.
        latencies = []
        for i in range(30):
            target = ["/", "/api/flist", "/blocks/" + "ab" * 32][i % 3]
            start = time.monotonic()
            try:
                urllib.request.urlopen(hub.url + target, timeout=5).read()
            except urllib.error.HTTPError as e:
                assert e.code == 404 and "blocks" in target
            latencies.append(time.monotonic() - start)
            time.sleep(0.1)
        assert max(latencies) < 1.0, latencies

        t.join(timeout=15)
        assert "after" in slow_cut, "the slow header was never cut"
        assert slow_cut["after"] < 3 + 3, slow_cut
        assert metric(hub.url, 'tiffin_hub_refusals_total{reason="header_timeout"}') >= 1
        # The 1000 connections were over the per-client limit (512): the rest were told so.
        assert metric(hub.url, 'tiffin_hub_refusals_total{reason="client_connections"}') >= 1000 - 512
        assert metric(hub.url, "tiffin_hub_open_connections") >= 512
    finally:
        for s in idle:
            s.close()
