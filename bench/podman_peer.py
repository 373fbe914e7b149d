"""podman as the benches' peer: its own --root/--runroot/--tmpdir and the containers.conf these
machines need (MACHINE-NOTES: nofile/nproc ulimits root cannot raise, runc, cgroupfs, file events).
`with Podman(tmp) as p:` ... `p.cli("run", …)`, `p.env`; everything it ran is removed on exit."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


class Podman:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        conf = tmp / "containers.conf"
        conf.write_text('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                        '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf))
        self.run_root = Path(tempfile.mkdtemp(prefix="pm-", dir="/tmp"))

    def cli(self, *args):
        return ["podman", "--root", str(self.tmp / "podman"), "--runroot", str(self.run_root),
                "--tmpdir", str(self.run_root / "tmp"), *map(str, args)]

    def import_tar(self, tar, name):
        subprocess.run(self.cli("import", tar, name), check=True, stdout=subprocess.DEVNULL, env=self.env)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(self.cli("rm", "-f", "-a"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        subprocess.run(["umount", "-R", "-l", str(self.run_root)], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.run_root, ignore_errors=True)
