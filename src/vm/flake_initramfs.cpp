#include "vm/flake_initramfs.hpp"

#include <unistd.h>

#include <cstdio>

#include "vm/guest_init.hpp"
#include "vm/host_parts.hpp"
#include "vm/initramfs.hpp"

namespace tiffin::vm {

const std::vector<std::string>& flake_vm_modules() {
  static const std::vector<std::string> modules = {"virtio_mmio", "virtio_console", "9pnet_virtio", "9p"};
  return modules;
}

namespace {

Result<void> write(const FlakeInitramfsSpec& spec, const std::string& tmp) {
  auto files = TRY(module_files(spec.kernel_version, flake_vm_modules()));
  Initramfs ir = TRY(Initramfs::create(tmp, spec.gzip));
  TRY(ir.add_file(spec.vminit, "/init", 0755));
  std::string list;
  for (const auto& f : files) {
    std::string name = f.substr(f.rfind('/') + 1);
    TRY(ir.add_file(f, "/modules/" + name, 0644));
    list += "/modules/" + name + "\n";
  }
  TRY(ir.add_text(kGuestModuleList, list));
  TRY(ir.add_dir("/dev"));
  TRY(ir.add_dir("/proc"));
  TRY(ir.add_dir("/sys"));
  TRY(ir.add_dir(kGuestRootMount));
  return ir.finish();
}

}  // namespace

Result<void> build_flake_initramfs(const FlakeInitramfsSpec& spec) {
  // Written beside `path` and renamed over it: a cached initramfs is never seen half-made.
  std::string tmp = spec.path + ".tmp";
  if (auto r = write(spec, tmp); !r) {
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(r).error().context("flake initramfs " + spec.path));
  }
  if (::rename(tmp.c_str(), spec.path.c_str()) != 0) return fail_errno("rename " + tmp);
  return {};
}

}  // namespace tiffin::vm
