"""The runtime on the other cgroup layouts real hosts have: pure v1 (this machine with its cgroup2
mount hidden) and pure v2 (cgroup2 mounted at /sys/fs/cgroup, v1 hidden), each made in a private
mount namespace so the host keeps its own. The machine's own hybrid layout is what the other
runtime tests use."""
import json
import subprocess

import pytest

from conftest import needs_root
from oci import Oci

pytestmark = needs_root

LAYOUTS = {
    "v1": "umount /sys/fs/cgroup/unified",
    "v2": "for m in $(awk '$9 == \"cgroup\" || $9 == \"cgroup2\" {print $5}' /proc/self/mountinfo | sort -r); "
          "do umount $m; done; umount /sys/fs/cgroup; mount -t cgroup2 none /sys/fs/cgroup",
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_lifecycle_on_layout(tmp_path, layout):
    o = Oci(tmp_path)
    b = o.bundle(args=["sleep", "60"])
    cfg = json.loads((b / "config.json").read_text())
    cfg["linux"]["resources"] = {"pids": {"limit": 64}} if layout == "v1" else {}
    (b / "config.json").write_text(json.dumps(cfg))
    oci = f"{o.binary} --root {o.root}"
    cg = o.cgroup_parent + "/b"
    script = f"""set -ex
{LAYOUTS[layout]}
{oci} run -d --bundle {b} c1 </dev/null >/dev/null 2>&1
{oci} state c1 | grep -q '"running"'
# the cgroup holds the init, in the layout's own place
if [ {layout} = v2 ]; then d=/sys/fs/cgroup{cg}; else d=/sys/fs/cgroup/pids{cg}; grep -qx 64 $d/pids.max; fi
grep -q . $d/cgroup.procs
{oci} exec c1 sh -c 'ls /sys/fs/cgroup' > {tmp_path}/inside
{oci} pause c1
{oci} state c1 | grep -q '"paused"'
{oci} resume c1
{oci} state c1 | grep -q '"running"'
{oci} delete --force c1
test ! -e $d
echo done
"""
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True, timeout=120)
    leftovers = o.cleanup()
    assert p.returncode == 0 and p.stdout.decode().strip().endswith("done"), p.stderr.decode() + p.stdout.decode()
    inside = (tmp_path / "inside").read_text().split()
    assert ("cgroup.procs" in inside) if layout == "v2" else ("memory" in inside and "unified" not in inside)
    assert leftovers == []
