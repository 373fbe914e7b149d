#include "layer/rw_layer.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/fd.hpp"
#include "common/mountinfo.hpp"
#include "common/subprocess.hpp"

namespace tiffin::layer {
namespace {

namespace fs = std::filesystem;

Result<void> make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return fail(Errc::io, "mkdir -p " + path + ": " + ec.message());
  return {};
}

// Runs a tool quietly (its errors still reach stderr); non-zero exit is an error.
Result<void> run(const std::vector<std::string>& argv) {
  pid_t pid = TRY(spawn(argv, [] {
    int null = ::open("/dev/null", O_WRONLY);
    return null >= 0 && ::dup2(null, 1) >= 0;
  }));
  if (int code = wait_exit(pid); code != 0) return fail(Errc::io, argv[0] + " failed with exit code " + std::to_string(code));
  return {};
}

struct LoopDevice {
  std::string path;
  UniqueFd fd;  // autoclear acts on the last close too: keep it open until mounted
};

// Attaches `image` to a free loop device with autoclear (it detaches itself once unmounted and
// closed).
Result<LoopDevice> attach_loop(const std::string& image) {
  UniqueFd file(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!file) return fail_errno("open " + image);
  UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl) return fail_errno("open /dev/loop-control");
  for (int attempt = 0; attempt < 16; ++attempt) {
    int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return fail_errno("LOOP_CTL_GET_FREE");
    std::string dev = "/dev/loop" + std::to_string(n);
    UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop) return fail_errno("open " + dev);
    loop_config cfg{};
    cfg.fd = static_cast<uint32_t>(file.get());
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    std::snprintf(reinterpret_cast<char*>(cfg.info.lo_file_name), LO_NAME_SIZE, "%s", image.c_str());
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &cfg) == 0) return LoopDevice{dev, std::move(loop)};
    if (errno != EBUSY) return fail_errno("LOOP_CONFIGURE " + dev);
    // Another process took this device between GET_FREE and CONFIGURE: try the next one.
  }
  return fail(Errc::unavailable, "no free loop device");
}

// Makes the sized image (sparse, ext4) unless it exists; an existing one must have the size.
Result<void> ensure_image(const std::string& image, uint64_t size_mib) {
  uint64_t bytes = size_mib << 20;
  struct stat st;
  if (::stat(image.c_str(), &st) == 0) {
    if (static_cast<uint64_t>(st.st_size) != bytes)
      return fail(
          Errc::conflict, image + " exists with " + std::to_string(st.st_size >> 20) + " MiB, not " + std::to_string(size_mib) + " MiB");
    return {};
  }
  std::string tmp = image + ".new";
  {
    UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) return fail_errno("create " + tmp);
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) return fail_errno("ftruncate " + tmp);
  }
  auto made = run({"mkfs.ext4", "-q", "-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", tmp});
  if (!made) {
    ::unlink(tmp.c_str());
    return std::unexpected(made.error().context("formatting " + image));
  }
  if (::rename(tmp.c_str(), image.c_str()) != 0) return fail_errno("rename " + tmp);
  return {};
}

}  // namespace

std::string rw_lower_dir(const RwLayerOptions& o) { return o.lower.empty() ? o.dir + "/lower" : o.lower; }

Result<void> mount_sized_fs(const std::string& image, uint64_t size_mib, const std::string& target) {
  TRY(make_dirs(fs::path(image).parent_path().string()));
  TRY(ensure_image(image, size_mib));
  LoopDevice dev = TRY(attach_loop(image));
  // On failure the device detaches itself as `dev` closes (autoclear).
  if (::mount(dev.path.c_str(), target.c_str(), "ext4", MS_NOSUID | MS_NODEV, "") != 0)
    return fail_errno("mount " + dev.path + " on " + target);
  return {};
}

std::string rw_image_path(const RwLayerOptions& o) {
  std::string abs = fs::absolute(o.dir).lexically_normal().string();
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  // FNV-1a of the path: stable across builds and machines, and no crypto library for a name.
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : abs) h = (h ^ ch) * 0x100000001b3ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return o.pools_dir + "/" + o.disk_type + "/" + fs::path(abs).filename().string() + "-" + hex + ".img";
}

Result<void> validate_rw_options(const RwLayerOptions& o) {
  if (o.dir.empty()) return fail(Errc::invalid_input, "no directory for the writable layer");
  if (o.disk_type != "ssd" && o.disk_type != "hdd")
    return fail(Errc::invalid_input, "disk type '" + o.disk_type + "' is neither ssd nor hdd");
  if (o.size_mib != 0 && o.size_mib < 8) return fail(Errc::invalid_input, "a sized writable layer needs at least 8 MiB");
  if (o.size_mib > (uint64_t(1) << 24)) return fail(Errc::invalid_input, "writable layer size is absurd");
  return {};
}

Result<void> prepare_rw_layer(const RwLayerOptions& o) {
  TRY(validate_rw_options(o));
  std::string rw = o.dir + "/rw";
  TRY(make_dirs(rw_lower_dir(o)));
  TRY(make_dirs(rw));
  if (o.size_mib && !mounted_over(rw)) TRY(mount_sized_fs(rw_image_path(o), o.size_mib, rw));
  auto dirs = make_dirs(rw + "/upper");
  if (dirs) dirs = make_dirs(rw + "/work");
  if (!dirs) {
    if (o.size_mib) ::umount2(rw.c_str(), MNT_DETACH);
    return dirs;
  }
  return {};
}

Result<void> mount_overlay(const RwLayerOptions& o, const std::string& target) {
  std::string rw = o.dir + "/rw";
  std::vector<std::string> paths = o.over_lower;
  paths.push_back(rw_lower_dir(o));
  std::string lowers;
  for (const auto& p : paths) lowers += (lowers.empty() ? "" : ":") + p;
  paths.push_back(o.dir);
  if (std::any_of(paths.begin(), paths.end(), [](const std::string& p) { return p.find_first_of(",:\\") != std::string::npos; }))
    return fail(Errc::invalid_input, "the writable layer's paths must not contain ',', ':' or '\\' (overlayfs separators)");
  std::string opts = "lowerdir=" + lowers + ",upperdir=" + rw + "/upper,workdir=" + rw + "/work";
  if (::mount("overlay", target.c_str(), "overlay", 0, opts.c_str()) != 0) return fail_errno("mounting overlay on " + target);
  return {};
}

void release_rw_layer(const RwLayerOptions& o, const std::string& target) {
  if (!target.empty() && ::umount2(target.c_str(), 0) != 0 && errno == EBUSY) ::umount2(target.c_str(), MNT_DETACH);
  std::string rw = o.dir + "/rw";  // a mount point only when sized
  if (mounted_over(rw) && ::umount2(rw.c_str(), 0) != 0 && errno == EBUSY) ::umount2(rw.c_str(), MNT_DETACH);
}

std::optional<std::string> overlay_layer_dir(const std::string& target) {
  std::string want = fs::absolute(target).lexically_normal().string();
  while (want.size() > 1 && want.back() == '/') want.pop_back();
  auto m = mount_at(want);  // a later mount on the same point hides an earlier overlay
  if (!m) return std::nullopt;
  auto lowers = overlay_lower_dirs(*m);
  if (lowers.size() != 1 || !lowers.front().ends_with("/lower")) return std::nullopt;
  const std::string& lower = lowers.front();
  return lower.substr(0, lower.size() - 6);
}

}  // namespace tiffin::layer
