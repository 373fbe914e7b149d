// Named volumes: <root>/volumes/<name>/_data, on an ext4 image of their own when sized; the
// anonymous ones a container gets for its image's Volumes, and their copy-up.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "common/copy_tree.hpp"
#include "common/fd.hpp"
#include "engine/engine.hpp"
#include "layer/rw_layer.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;

Result<VolumeInfo> Engine::create_volume(const std::string& name, uint64_t size_mib) {
  if (!valid_container_name(name)) return fail(Errc::invalid_input, "invalid volume name '" + name + "': use [a-zA-Z0-9][a-zA-Z0-9_.-]*");
  if (size_mib != 0 && size_mib < 8) return fail(Errc::invalid_input, "a sized volume needs at least 8 MiB");
  auto insert = TRY(sql::Stmt::prepare(db_, "INSERT INTO volumes (name, size_mib, created) VALUES (?, ?, ?)"));
  insert.bind(1, name).bind(2, static_cast<int64_t>(size_mib)).bind(3, static_cast<int64_t>(::time(nullptr)));
  if (auto r = insert.run(); !r) {
    if (sqlite3_extended_errcode(db_.get()) == SQLITE_CONSTRAINT_PRIMARYKEY)
      return fail(Errc::conflict, "volume " + name + " exists already");
    return std::unexpected(r.error());
  }
  std::string dir = opts_.root + "/volumes/" + name;
  std::error_code ec;
  fs::create_directories(dir + "/_data", ec);
  if (!ec && size_mib) {
    if (auto m = layer::mount_sized_fs(dir + "/disk.img", size_mib, dir + "/_data"); !m) {
      fs::remove_all(dir, ec);
      auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM volumes WHERE name = ?"));
      (void)del.bind(1, name).run();
      return std::unexpected(m.error());
    }
  }
  if (ec) return fail(Errc::io, "making " + dir + ": " + ec.message());
  record_event({"volume", "create", name, {{"driver", "local"}}});
  return volume(name);
}

Result<VolumeInfo> Engine::volume(const std::string& name) {
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT size_mib, created FROM volumes WHERE name = ?"));
  st.bind(1, name);
  if (!TRY(st.step())) return fail(Errc::not_found, "no such volume: " + name);
  VolumeInfo v{name, opts_.root + "/volumes/" + name + "/_data", static_cast<uint64_t>(st.i64(0)), st.i64(1)};
  // A sized volume's image is mounted again after a reboot.
  struct stat a {
  }, b{};
  if (v.size_mib && ::stat(v.mountpoint.c_str(), &a) == 0 && ::stat((v.mountpoint + "/..").c_str(), &b) == 0 && a.st_dev == b.st_dev)
    TRY(layer::mount_sized_fs(opts_.root + "/volumes/" + name + "/disk.img", v.size_mib, v.mountpoint));
  return v;
}

Result<std::vector<VolumeInfo>> Engine::volumes() {
  std::vector<std::string> names;
  auto st = TRY(sql::Stmt::prepare(db_, "SELECT name FROM volumes ORDER BY name"));
  while (TRY(st.step())) names.push_back(st.text(0));
  std::vector<VolumeInfo> out;
  for (const auto& n : names) out.push_back(TRY(volume(n)));
  return out;
}

Result<void> Engine::remove_volume(const std::string& name, bool force) {
  VolumeInfo v = TRY(volume(name));
  if (!force) {
    for (const auto& c : TRY(list({true, {}}))) {
      for (const auto& text : c.config.volumes) {
        auto spec = parse_volume_spec(text);
        if (spec && spec->named() && spec->source == name)
          return fail(Errc::conflict, "volume " + name + " is in use by container " + c.name);
      }
    }
  }
  if (v.size_mib) ::umount2(v.mountpoint.c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(opts_.root + "/volumes/" + name, ec);
  if (ec) return fail(Errc::io, "removing volume " + name + ": " + ec.message());
  auto del = TRY(sql::Stmt::prepare(db_, "DELETE FROM volumes WHERE name = ?"));
  TRY(del.bind(1, name).run());
  record_event({"volume", "destroy", name, {{"driver", "local"}}});
  return {};
}

Result<void> Engine::add_anonymous_volumes(ContainerConfig& c, const ImageConfig& image) {
  for (const auto& declared : image.volumes) {
    std::string path = fs::path(declared).lexically_normal().string();
    while (path.size() > 1 && path.ends_with("/")) path.pop_back();
    if (!path.starts_with("/") || path == "/")
      return fail(Errc::invalid_input, "the image declares the volume '" + declared + "': not an absolute path below /");
    bool mounted = false;  // the user's own mount there wins
    for (const auto& text : c.volumes) mounted = mounted || TRY(parse_volume_spec(text)).target == path;
    if (mounted) continue;
    std::string name = TRY(random_id());
    c.volumes.push_back(name + ":" + path);
    c.anonymous_volumes.push_back(name);
  }
  return {};
}

Result<void> Engine::fill_volumes(const std::string& id, const ContainerConfig& c) {
  auto sources = TRY(volume_mounts(c));
  std::string rootfs = container_dir(id) + "/rootfs";
  for (size_t i = 0; i < c.volumes.size(); ++i) {
    VolumeSpec v = TRY(parse_volume_spec(c.volumes[i]));
    if (!v.named() || v.no_copy || !TRY(directory_is_empty(sources[i]))) continue;
    // Resolved inside the container's root: an image's symlinks cannot point the copy outside.
    auto from = open_in_root(rootfs, v.target, O_RDONLY | O_DIRECTORY);
    if (!from && (from.error().sys_errno == ENOENT || from.error().sys_errno == ENOTDIR)) continue;  // nothing there to copy
    UniqueFd from_fd = TRY(std::move(from));
    UniqueFd to(::open(sources[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!to) return fail_errno("opening " + sources[i]);
    TRY_CTX(copy_tree(from_fd.get(), to.get()), "filling volume " + v.source + " from the image's " + v.target);
  }
  return {};
}

}  // namespace tiffin::engine
