// tiffin node vm init|stop|rm|ls: a Zero-OS node of one's own in a local VM (the seed's
// `zos init`, which booted Zero-OS in VirtualBox). The VM boots the host's Debian kernel with an
// initramfs holding busybox, tini and this tiffin (its binaries and the libraries they load);
// its state lives on a raw ext4 disk. It runs `tiffin serve --zos` on a port forwarded from the
// host's loopback, and is registered as a node (tiffin node add) with an admin token the host
// made (the guest gets only its hash, on the kernel command line).
#include <fmt/core.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/cli.hpp"
#include "cli/zos_remote.hpp"
#include "common/hex.hpp"
#include "common/subprocess.hpp"
#include "vm/host_parts.hpp"
#include "vm/initramfs.hpp"
#include "vm/qemu_vm.hpp"
#include "zos/node_state.hpp"

namespace tiffin::cli {

namespace fs = std::filesystem;

namespace {

constexpr uint16_t kGuestApiPort = 7071;

std::string vms_dir() {
  const char* xdg = std::getenv("XDG_DATA_HOME");
  const char* home = std::getenv("HOME");
  return (xdg && *xdg ? std::string(xdg) : std::string(home && *home ? home : "/root") + "/.local/share") + "/tiffin/vms";
}

// The guest's first process (/init): the initramfs is the kernel's rootfs, which pivot_root cannot leave
// (containers need it), so its files move to a tmpfs that becomes the root.
constexpr const char* kStage1Script = R"(#!/bin/sh
/bin/busybox mkdir -p /newroot
/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /newroot
for d in bin sbin usr lib lib64 etc root; do [ -e /$d ] && /bin/busybox cp -a /$d /newroot/; done
/bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp /newroot/var/lib/tiffin
exec /bin/busybox switch_root /newroot /sbin/tini -- /etc/tiffin-vm/boot.sh
)";

// Then this, under tini (which reaps the shims' orphans).
constexpr const char* kBootScript = R"(#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/usr/bin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp /var/lib/tiffin
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup
while read -r m; do grep -q "^$(basename "$m" .ko | tr - _) " /proc/modules || insmod "$m" || echo "tiffin-vm: cannot load $m"; done < /etc/tiffin-vm/modules
mount -t ext4 /dev/vda /var/lib/tiffin || echo "tiffin-vm: no disk"
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
for w in $(cat /proc/cmdline); do case "$w" in tiffin.admin_hash=*) hash="${w#tiffin.admin_hash=}";; esac; done
tiffin node token --set-hash "$hash"
tiffin image inspect busybox >/dev/null 2>&1 || tiffin import /usr/share/tiffin-vm/busybox busybox --cmd sh >/dev/null
echo "tiffin-vm: serving"
exec tiffin serve -H unix:///run/tiffin/docker.sock --zos tcp://0.0.0.0:7071
)";

Result<void> build_initrd(const std::string& path, const vm::HostKernel& kernel) {
  vm::Initramfs img = TRY(vm::Initramfs::create(path));
  for (const char* d : {"/proc", "/sys", "/dev", "/run", "/tmp", "/var/lib/tiffin", "/etc", "/root"}) TRY(img.add_dir(d));
  TRY(img.add_file("/bin/busybox", "/bin/busybox", 0755));
  TRY(img.add_symlink("/bin/sh", "busybox"));
  TRY(img.add_file("/usr/bin/tini-static", "/sbin/tini", 0755));
  TRY(img.add_text("/init", kStage1Script, 0755));
  TRY(img.add_text("/etc/tiffin-vm/boot.sh", kBootScript, 0755));
  TRY(img.add_text("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"));
  TRY(img.add_text("/etc/group", "root:x:0:\n"));
  // This tiffin, as it is installed beside the running binary.
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  std::vector<std::string> libs;
  for (const char* b : {"tiffin", "tiffin-full", "tiffin-shim", "tiffin-oci", "tiffin-dns"}) {
    std::string host = (self / b).string();
    if (::access(host.c_str(), X_OK) != 0) return fail(Errc::not_found, "VM image: " + host + " is missing");
    TRY(img.add_file(host, std::string("/usr/bin/") + b, 0755));
    for (auto& l : TRY(vm::shared_libraries(host)))
      if (std::find(libs.begin(), libs.end(), l) == libs.end()) libs.push_back(l);
  }
  for (const auto& l : libs) TRY(img.add_file(fs::canonical(l, ec).string(), l, 0755));
  // The kernel's modules the node needs: disks, network, overlay and FUSE roots, bridges, nftables.
  auto modules = TRY(vm::module_files(kernel.version, {"virtio_pci", "virtio_blk", "virtio_net", "ext4", "overlay", "fuse", "loop", "veth",
                                                          "bridge", "nf_tables", "nft_chain_nat", "nft_masq", "nft_nat"}));
  std::string list;
  for (const auto& m : modules) {
    TRY(img.add_file(m, m, 0644));
    list += m + "\n";
  }
  TRY(img.add_text("/etc/tiffin-vm/modules", list));
  // An image to run at once: busybox alone.
  TRY(img.add_file("/bin/busybox", "/usr/share/tiffin-vm/busybox/bin/busybox", 0755));
  for (const char* a : {"sh", "echo", "cat", "ls", "sleep", "env", "true"})
    TRY(img.add_symlink(std::string("/usr/share/tiffin-vm/busybox/bin/") + a, "busybox"));
  TRY(img.add_text("/usr/share/tiffin-vm/busybox/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"));
  for (const char* d : {"/proc", "/sys", "/dev", "/tmp"}) TRY(img.add_dir(std::string("/usr/share/tiffin-vm/busybox") + d));
  return img.finish();
}

uint16_t free_loopback_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  uint16_t port = 0;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(s);
  return port;
}

}  // namespace

void add_node_vm(CLI::App& node, Context& ctx) {
  CLI::App* vmc = node.add_subcommand("vm", "A Zero-OS node in a local qemu/KVM VM: init, stop, rm, ls");
  vmc->require_subcommand(1);
  struct Opts {
    std::string name;
    unsigned memory = 1024, disk = 2048, cpus = 1;
    uint16_t port = 0;
    int timeout = 60;
    std::string accel = "kvm";
  };
  auto o = std::make_shared<Opts>();

  CLI::App* init = vmc->add_subcommand("init", "Boot a VM running tiffin serve --zos and add it as node NAME");
  init->add_option("--name", o->name, "The node's name (tiffin node ls)")->required();
  init->add_option("--memory", o->memory, "MiB")->capture_default_str();
  init->add_option("--disk", o->disk, "MiB of the node's state disk (raw ext4)")->capture_default_str();
  init->add_option("--cpus", o->cpus)->capture_default_str();
  init->add_option("--port", o->port, "The host's loopback port for its API (default: a free one)");
  init->add_option("--timeout", o->timeout, "Seconds to wait for its API")->capture_default_str();
  init->add_option("--accel", o->accel, "kvm, or tcg (emulation: slow, for hosts whose KVM cannot boot a guest)")->capture_default_str();
  init->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (!engine::valid_container_name(o->name)) return fail(Errc::invalid_input, "--name: letters, digits, '_', '.', '-'");
      if (o->memory < 256 || o->disk < 64) return fail(Errc::invalid_input, "a node VM needs --memory ≥ 256 and --disk ≥ 64 (MiB)");
      std::string dir = vms_dir() + "/" + o->name;
      if (vm::vm_pid(dir)) return fail(Errc::conflict, "VM " + o->name + " runs already");
      std::error_code ec;
      fs::create_directories(dir, ec);
      ::chmod(dir.c_str(), 0700);
      vm::HostKernel kernel = TRY(vm::newest_kernel());
      auto t0 = std::chrono::steady_clock::now();
      TRY(build_initrd(dir + "/initrd.img", kernel));
      std::string disk = dir + "/disk.img";
      if (::access(disk.c_str(), F_OK) != 0) {
        std::string tmp = disk + ".new";
        {
          UniqueFd f(::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600));
          if (!f || ::ftruncate(f.get(), static_cast<off_t>(o->disk) << 20) != 0) return fail_errno("making " + tmp);
        }
        auto [code, out] = TRY(run_captured({"mkfs.ext4", "-q", "-F", "-L", "tiffin", tmp}, true));
        if (code != 0) return fail(Errc::internal, "mkfs.ext4: " + out);
        if (::rename(tmp.c_str(), disk.c_str()) != 0) return fail_errno("renaming " + tmp);
      }
      unsigned char raw[32];
      randombytes_buf(raw, sizeof raw);
      std::string token = to_hex({raw, sizeof raw});
      uint16_t port = o->port ? o->port : free_loopback_port();
      vm::VmSpec spec;
      spec.dir = dir;
      spec.kernel = kernel.image;
      spec.initrd = dir + "/initrd.img";
      spec.disk = disk;
      spec.cmdline = "console=ttyS0 panic=-1 tiffin.admin_hash=" + zos::admin_token_hash(token);
      spec.memory_mib = o->memory;
      spec.cpus = o->cpus;
      spec.forwards = {{port, kGuestApiPort}};
      if (o->accel != "kvm" && o->accel != "tcg") return fail(Errc::invalid_input, "--accel: kvm or tcg");
      spec.kvm = o->accel == "kvm";
      ::unlink((dir + "/console.log").c_str());
      TRY(vm::start_vm(spec));
      auto nodes = TRY(load_nodes());
      nodes[o->name] = {"http://127.0.0.1:" + std::to_string(port), token};
      TRY(save_nodes(nodes));
      // Until its API answers (the kernel boots, the guest loads its modules, serve listens).
      for (auto deadline = t0 + std::chrono::seconds(o->timeout);;) {
        auto a = call_node(nodes[o->name], "GET", "/zos/v1/node", "");
        if (a && a->status == 200) {
          double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          fmt::print("node {} ({}) answers on 127.0.0.1:{} after {:.1f} s\n", o->name, a->body.value("node_id", ""), port, s);
          return 0;
        }
        if (!vm::vm_pid(dir) || std::chrono::steady_clock::now() > deadline) {
          auto log = read_file(dir + "/console.log", 1 << 20);
          std::string tail = log ? std::string(log->begin(), log->end()) : "";
          if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
          (void)vm::stop_vm(dir);
          return fail(
              Errc::unavailable, "VM " + o->name + " did not answer on 127.0.0.1:" + std::to_string(port) + "; its console:\n" + tail);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  });

  CLI::App* stop = vmc->add_subcommand("stop", "Stop a node VM (its disk stays)");
  stop->add_option("name", o->name)->required();
  stop->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      TRY(vm::stop_vm(vms_dir() + "/" + o->name));
      return 0;
    });
  });
  CLI::App* rm = vmc->add_subcommand("rm", "Stop a node VM, delete its disk and forget the node");
  rm->add_option("name", o->name)->required();
  rm->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::string dir = vms_dir() + "/" + o->name;
      if (!fs::exists(dir)) return fail(Errc::not_found, "no VM " + o->name);
      TRY(vm::stop_vm(dir));
      std::error_code ec;
      fs::remove_all(dir, ec);
      auto nodes = TRY(load_nodes());
      if (nodes.erase(o->name)) TRY(save_nodes(nodes));
      return 0;
    });
  });
  CLI::App* ls = vmc->add_subcommand("ls", "List node VMs");
  ls->callback([&ctx] {
    ctx.run([&]() -> Result<int> {
      fmt::print("{:<16} {:<10} {}\n", "NAME", "STATE", "API");
      auto nodes = load_nodes().value_or(std::map<std::string, NodeEntry>{});
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(vms_dir(), ec)) {
        std::string name = e.path().filename().string();
        fmt::print(
            "{:<16} {:<10} {}\n", name, vm::vm_pid(e.path().string()) ? "running" : "stopped", nodes.count(name) ? nodes[name].url : "-");
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
