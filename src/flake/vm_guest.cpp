#include "flake/vm_guest.hpp"

#include <unistd.h>

#include <filesystem>

#include "vm/flake_initramfs.hpp"
#include "vm/host_parts.hpp"
#include "vm/vmlinux.hpp"

namespace tiffin::flake {

namespace fs = std::filesystem;

namespace {

// Whether `made` exists and is newer than `from` (a rebuilt tiffin-vminit makes a new initramfs).
bool up_to_date(const std::string& made, const std::string& from) {
  std::error_code ec;
  auto m = fs::last_write_time(made, ec);
  if (ec) return false;
  auto f = fs::last_write_time(from, ec);
  return !ec && m >= f;
}

}  // namespace

Result<VmGuest> prepare_vm_guest(const std::string& dir, const std::string& init_binary, const std::string& kernel) {
  std::string image = kernel, version;
  if (image.empty()) {
    auto k = TRY(vm::newest_kernel());
    image = k.image;
    version = k.version;
  } else {
    // /boot/vmlinuz-VERSION: its modules are /lib/modules/VERSION.
    std::string name = fs::path(image).filename().string();
    if (!name.starts_with("vmlinuz-"))
      return fail(Errc::invalid_input, "--kernel: a /boot/vmlinuz-VERSION (its modules are needed too): " + image);
    version = name.substr(8);
  }
  if (::access(init_binary.c_str(), X_OK) != 0) return fail_errno("the microVM's init " + init_binary);
  std::string cache = dir + "/vm/" + version;
  std::error_code ec;
  fs::create_directories(cache, ec);
  if (ec) return fail(Errc::io, "making " + cache + ": " + ec.message());
  VmGuest g{cache + "/vmlinux", cache + "/initrd"};
  if (!up_to_date(g.kernel, image)) TRY_CTX(vm::extract_vmlinux(image, g.kernel), "the microVM's kernel");
  if (!up_to_date(g.initrd, init_binary)) TRY_CTX(vm::build_flake_initramfs({g.initrd, init_binary, version}), "the microVM's initramfs");
  return g;
}

}  // namespace tiffin::flake
