// What a container needs before its shim can start it, and undoing it: the root filesystem
// (the image's shared lazy mount under a per-container overlay), the network namespace, and the
// bundle (config.json with /etc/hosts, /etc/hostname, /etc/resolv.conf and volumes bound in).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "common/fd.hpp"
#include "common/mountinfo.hpp"
#include "engine/engine.hpp"
#include "engine/flist_mounts.hpp"
#include "engine/user_lookup.hpp"
#include "layer/rw_layer.hpp"
#include "net/netns.hpp"

namespace tiffin::engine {

namespace fs = std::filesystem;

namespace {

std::string read_text(const std::string& path) {
  auto data = read_file(path, 1 << 20);
  return data ? std::string(data->begin(), data->end()) : std::string();
}

runtime::Mount bind_mount(const std::string& source, const std::string& target, bool read_only) {
  runtime::Mount m{target, "bind", source, {"rbind", "rprivate"}};
  if (read_only) m.options.push_back("ro");
  return m;
}

layer::RwLayerOptions layer_options(const std::string& dir, const ContainerConfig& c, const std::string& root, const std::string& lower) {
  return {dir + "/layer", c.disk_size_mib, c.disk_type, root + "/pools", lower, c.lower_dirs};
}

}  // namespace

Result<std::vector<std::string>> Engine::volume_mounts(const ContainerConfig& c) {
  std::vector<std::string> sources;
  for (const auto& text : c.volumes) {
    VolumeSpec v = TRY(parse_volume_spec(text));
    if (v.named()) {
      auto existing = volume(v.source);
      VolumeInfo info = existing ? *existing : TRY(create_volume(v.source, 0));  // docker makes them on use
      sources.push_back(info.mountpoint);
    } else {
      std::error_code ec;
      if (!fs::exists(v.source, ec)) fs::create_directories(v.source, ec);  // as docker's -v does
      if (ec) return fail(Errc::io, "making " + v.source + ": " + ec.message());
      sources.push_back(v.source);
    }
  }
  return sources;
}

Result<void> Engine::prepare_rootfs(const std::string& id, const ContainerConfig& c, const ImageInfo& image) {
  std::string dir = container_dir(id);
  std::string rootfs = dir + "/rootfs";
  std::string mountpoint = opts_.run_root + "/mounts/" + image.id;
  auto rw = layer_options(dir, c, opts_.root, mountpoint);
  if (mounted_over(rootfs)) {
    if (flist_mounted(mountpoint)) return {};
    // The image's mount process died under this overlay: build it again over a new mount.
    for (int i = 0; i < 8 && mounted_over(rootfs); ++i) layer::release_rw_layer(rw, rootfs);
  }
  TRY(ensure_flist_mount({opts_.full_binary, image.flist, mountpoint, opts_.root + "/cache", mountpoint + ".log", opts_.root}));
  TRY(layer::prepare_rw_layer(rw));
  if (::mkdir(rootfs.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("making " + rootfs);
  if (auto r = layer::mount_overlay(rw, rootfs); !r) {
    layer::release_rw_layer(rw, "");
    release_flist_mount(mountpoint);
    return std::unexpected(std::move(r).error().context("container " + short_id(id)));
  }
  return {};
}

Result<void> Engine::release(const std::string& id, const ContainerConfig& c, const std::string& image_id) {
  std::string dir = container_dir(id);
  auto rw = layer_options(dir, c, opts_.root, opts_.run_root + "/mounts/" + image_id);
  std::string rootfs = dir + "/rootfs";
  for (int i = 0; i < 8 && mounted_over(rootfs); ++i) layer::release_rw_layer(rw, rootfs);
  if (mounted_over(rootfs)) return fail(Errc::io, "cannot unmount " + rootfs);
  // The image's mount stays for the next container (starting one then costs no mount);
  // rmi and system prune unmount it.
  if (c.disk_size_mib) ::unlink(layer::rw_image_path(rw).c_str());
  return release_network(id);
}

Result<void> Engine::write_bundle(
    const std::string& id, const ContainerConfig& c, const ImageInfo& image, const std::optional<shim::Resize>& size) {
  std::string dir = container_dir(id);
  std::string rootfs = dir + "/rootfs";
  ImageConfig icfg = TRY(image_config(image));
  ResolvedUser user = TRY(resolve_user(!c.user.empty() ? c.user : icfg.user, read_file_in_root(rootfs, "etc/passwd").value_or(""),
      read_file_in_root(rootfs, "etc/group").value_or("")));
  NetworkMode mode = network_mode(c);
  std::string netns = mode == NetworkMode::host        ? ""
                      : mode == NetworkMode::container ? netns_path(TRY(resolve_container(network_container(c))))
                                                       : netns_path(id);
  SpecInputs in{id, rootfs, user.uid, user.gid, user.additional_gids, {}, "/tiffin/" + id, netns, c.init ? find_init_binary() : "",
      c.corex ? opts_.corex_binary : ""};
  // /etc/hosts, /etc/hostname and /etc/resolv.conf are the engine's, bound in as docker does.
  struct stat st {};
  if (::lstat((rootfs + "/etc").c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    std::string hostname = mode == NetworkMode::host ? "" : (c.hostname.empty() ? short_id(id) : c.hostname);
    std::string hosts = mode == NetworkMode::host        ? read_text("/etc/hosts")
                        : mode == NetworkMode::container ? read_text(container_dir(TRY(resolve_container(network_container(c)))) + "/hosts")
                                                         : TRY(hosts_for(id, c, hostname));
    TRY(write_file_atomic(dir + "/hosts", hosts, 0644, false));
    TRY(write_file_atomic(dir + "/resolv.conf", TRY(resolv_conf_for(id, c)), 0644, false));
    if (mode != NetworkMode::host) {
      TRY(write_file_atomic(dir + "/hostname", hostname + "\n", 0644, false));
      in.mounts.push_back(bind_mount(dir + "/hostname", "/etc/hostname", c.read_only));
    }
    in.mounts.push_back(bind_mount(dir + "/hosts", "/etc/hosts", c.read_only));
    in.mounts.push_back(bind_mount(dir + "/resolv.conf", "/etc/resolv.conf", c.read_only));
  }
  auto sources = TRY(volume_mounts(c));
  for (size_t i = 0; i < c.volumes.size(); ++i) {
    VolumeSpec v = TRY(parse_volume_spec(c.volumes[i]));
    in.mounts.push_back(bind_mount(sources[i], v.target, v.read_only));
  }
  runtime::Spec spec = TRY(build_spec(c, icfg, in));
  if (size) spec.process.console_size = runtime::ConsoleSize{size->rows, size->cols};
  return write_file_atomic(dir + "/config.json", runtime::spec_to_json(spec), 0644, false);
}

Result<std::string> Engine::mounted_rootfs(const ContainerInfo& c) {
  std::string rootfs = container_dir(c.id) + "/rootfs";
  if (mounted_over(rootfs)) return rootfs;
  auto image = TRY(find_image(c.image_id));
  if (!image) return fail(Errc::not_found, "the image of container " + c.name + " is gone");
  TRY(prepare_rootfs(c.id, c.config, *image));
  return rootfs;
}

Result<std::string> Engine::mount_rootfs(const std::string& ref) {
  ContainerInfo c = TRY(inspect(ref));
  if ((c.state.status == ContainerStatus::running || c.state.status == ContainerStatus::paused) && c.state.pid > 0 && c.shim_alive)
    return "/proc/" + std::to_string(c.state.pid) + "/root";
  return mounted_rootfs(c);
}

}  // namespace tiffin::engine
