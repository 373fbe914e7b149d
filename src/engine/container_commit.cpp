// docker commit, and the step of `tiffin build` that keeps what a RUN changed: the container's
// overlayfs upper directory is packed as an OCI layer (flist/pack.hpp's overlay_upper: only
// the files it changed are read and chunked; their blocks join the node's store, de-duplicated)
// and merged over the tree of the container's image. The new flist keeps the image's routes, so
// what was lazily fetched from a hub still is.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "engine/engine.hpp"
#include "engine/image_reference.hpp"
#include "flist/flist_file.hpp"
#include "flist/merge.hpp"
#include "flist/pack.hpp"

namespace tiffin::engine {
namespace {

namespace fs = std::filesystem;

// The files the engine binds over (/etc/hosts, /etc/hostname, /etc/resolv.conf) exist in the
// layer only as the empty mount points the runtime made; they are not the container's work.
void drop_mount_points(Tree& layer, const Tree& below) {
  for (const char* path : {"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}) {
    auto at = layer.find(path);
    if (!at || !layer.nodes[*at].is_reg() || layer.nodes[*at].size != 0 || below.find(path)) continue;
    layer.remove(layer.nodes[*at].parent, layer.nodes[*at].name);
  }
}

// docker's committed config: the image's, with what `run` set over it.
ImageConfig committed_config(ImageConfig image, const ContainerConfig& c) {
  if (c.entrypoint) {
    image.entrypoint = *c.entrypoint;
    image.cmd.clear();  // as at run: a new entrypoint drops the image's command
  }
  if (!c.cmd.empty()) image.cmd = c.cmd;
  for (const auto& e : c.env) set_env(image.env, e);
  if (!c.workdir.empty()) image.workdir = c.workdir;
  if (!c.user.empty()) image.user = c.user;
  for (const auto& [k, v] : c.labels) image.labels[k] = v;
  if (!c.stop_signal.empty()) image.stop_signal = c.stop_signal;
  return image;
}

}  // namespace

Result<void> Engine::take_container_upper(const ContainerInfo& c, const std::string& to) {
  if (c.config.disk_size_mib) return fail(Errc::unsupported, "the upper directory of " + c.name + " is on a disk of its own");
  // A rename, even while the overlay is still mounted: it holds the directory, not its path.
  std::string upper = container_dir(c.id) + "/layer/rw/upper";
  if (::rename(upper.c_str(), to.c_str()) != 0) return fail_errno("moving " + upper + " to " + to);
  return {};
}

Result<Tree> Engine::container_layer(const ContainerInfo& c, const Tree& below) {
  // The upper layer is on the container's sized disk when it has one, mounted with its rootfs.
  bool running = (c.state.status == ContainerStatus::running || c.state.status == ContainerStatus::paused) && c.shim_alive;
  if (!running) TRY(mounted_rootfs(c));
  std::string upper = container_dir(c.id) + "/layer/rw/upper";
  auto router = TRY(open_router({"dir://" + fs::absolute(opts_.root + "/blocks").string()}, true));
  Tree layer;
  PackOptions po{0, false, nullptr};
  po.overlay_upper = true;
  TRY_CTX(pack_directory(upper, *router, layer, po), "packing the layer of " + c.name);
  layer.routes = router->routes();
  drop_mount_points(layer, below);
  return layer;
}

Result<ImageInfo> Engine::commit(const std::string& ref, const CommitOptions& o) {
  ContainerInfo c = TRY(inspect(ref));
  std::string tag = o.tag.empty() ? "" : normalize_image_name(o.tag);
  auto image = TRY(find_image(c.image_id));
  if (!image) return fail(Errc::not_found, "the image of container " + c.name + " is gone");
  ImageConfig config = o.config ? *o.config : committed_config(TRY(image_config(*image)), c.config);

  Tree below = TRY_CTX(load_flist(image->flist), "reading the image of " + c.name);
  auto holding = TRY(hold_blocks());
  bool pausing = o.pause && c.state.status == ContainerStatus::running && c.shim_alive;
  if (pausing) TRY_CTX(pause(c.id, true), "pausing " + c.name + " to commit it");
  auto layer = container_layer(c, below);
  if (pausing) (void)pause(c.id, false);
  if (!layer) return std::unexpected(layer.error());

  Tree merged = merge({below, *layer}, {});
  merged.tags.clear();
  merged.profile.clear();  // the image's learnt read order is not this one's
  merged.config = config;
  settle_hardlinks(merged);

  auto info = add_image_tree(merged, "container " + c.id, tag);
  if (info) record_event({"container", "commit", c.id, {{"name", c.name}, {"image", tag.empty() ? info->id : tag}}});
  return info;
}

}  // namespace tiffin::engine
