#include "flake/flake_registry.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/fd.hpp"
#include "flake/flake_launch.hpp"
#include "flake/vm_guest.hpp"
#include "flist/flist_file.hpp"
#include "flist/merge.hpp"

namespace tiffin::flake {

namespace fs = std::filesystem;

namespace {

bool is_tar_name(const std::string& path) {
  for (const char* ext : {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tar.bz2", ".tbz2"})
    if (path.ends_with(ext)) return true;
  return false;
}

// Whether `app` is a symlink to a tiffin-pilot (ours to replace or remove).
bool is_pilot_link(const std::string& app) {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(app, ec))) return false;
  return fs::read_symlink(app, ec).filename() == "tiffin-pilot";
}

std::string absolute_path(const std::string& p) {
  std::error_code ec;
  auto a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
}

// base < layers < image as one flist in the store; its id.
Result<std::string> merged_image(engine::Engine& e, const std::string& name, const RegisterRequest& r, const engine::ImageInfo& top) {
  std::vector<Tree> layers;
  for (const auto& ref : [&] {
         std::vector<std::string> refs{r.base};
         refs.insert(refs.end(), r.layers.begin(), r.layers.end());
         return refs;
       }()) {
    auto image = TRY_CTX(e.resolve_image(ref), "flake layer " + ref);
    layers.push_back(TRY_CTX(load_flist(image.flist), ref));
  }
  layers.push_back(TRY_CTX(load_flist(top.flist), r.image));
  std::string tmp = e.options().root + "/flakes/." + name + ".fl";
  std::error_code ec;
  fs::create_directories(fs::path(tmp).parent_path(), ec);
  TRY(save_flist(tmp, merge(layers, {})));
  // Tagged flake-NAME where NAME makes a valid image name, so `images` says whose it is.
  std::string tag = "flake-" + name;
  bool valid = std::all_of(
      tag.begin(), tag.end(), [](char ch) { return std::islower(ch) || std::isdigit(ch) || ch == '-' || ch == '_' || ch == '.'; });
  auto image = e.import(tmp, valid ? tag : "", TRY(e.image_config(top)));
  ::unlink(tmp.c_str());
  return TRY_CTX(std::move(image), "storing the merged image").id;
}

}  // namespace

Result<FlakeConfig> register_flake(engine::Engine& e, const FlakePlaces& places, const RegisterRequest& r) {
  if (!r.app.starts_with('/')) return fail(Errc::invalid_input, "--app must be an absolute path: " + r.app);
  std::string name = TRY(flake_name(r.app));
  if (r.resume && r.attach) return fail(Errc::invalid_input, "--resume and --attach exclude each other");
  if (!r.target.empty() && !r.target.starts_with('/')) return fail(Errc::invalid_input, "--target must be an absolute path: " + r.target);
  if (r.base.empty() && !r.layers.empty()) return fail(Errc::invalid_input, "--layer needs --base");
  std::string yaml_path = places.flakes_dir + "/" + name + ".yaml";
  std::error_code ec;
  if (fs::exists(fs::symlink_status(yaml_path, ec))) return fail(Errc::conflict, "flake " + name + " is registered (" + yaml_path + ")");
  if (fs::exists(fs::symlink_status(r.app, ec)) && !is_pilot_link(r.app))
    return fail(Errc::conflict, r.app + " exists and is not a flake: remove it first");

  FlakeConfig c;
  c.vm = r.vm;
  c.image = r.image;
  c.host_app_path = r.app;
  c.target_app_path = r.target.empty() ? r.app : r.target;
  c.base_container = r.base;
  c.layers = r.layers;
  c.runas = "root";
  c.resume = r.resume;
  c.attach = r.attach;
  c.run_options = r.run_options;
  c.user = r.user;
  c.home = r.home;
  c.root = e.options().root;
  c.run_root = e.options().run_root;
  for (const auto& inc : r.includes) {
    std::string path = absolute_path(inc);
    if (!fs::exists(path, ec)) return fail(Errc::not_found, "--include " + inc + ": no such file or directory");
    (is_tar_name(path) && fs::is_regular_file(path, ec) ? c.include_tars : c.include_paths).push_back(path);
  }
  auto top = TRY_CTX(e.resolve_image(r.image), "flake image " + r.image);
  c.engine_image = r.base.empty() ? top.id : TRY(merged_image(e, name, r, top));
  if (c.vm) {
    if (!r.accel.empty() && r.accel != "kvm" && r.accel != "tcg") return fail(Errc::invalid_input, "--accel: kvm or tcg");
    // The guest's init runs the app as a uid and gid: names would need the image's passwd at each call.
    if (!r.user.empty() && r.user.find_first_not_of("0123456789:") != std::string::npos)
      return fail(Errc::invalid_input, "--user of a microVM flake: uid[:gid] in numbers");
    c.accel = r.accel;
    c.memory_mib = r.memory_mib;
    c.cpus = r.cpus;
    auto guest = TRY(prepare_vm_guest(e.options().root + "/flakes", places.vm_init, r.kernel));
    c.kernel = guest.kernel;
    c.initrd = guest.initrd;
  }

  fs::create_directories(places.flakes_dir, ec);
  if (ec) return fail(Errc::io, "making " + places.flakes_dir + ": " + ec.message());
  TRY(write_file_atomic(yaml_path, flake_yaml(c), 0644));
  fs::remove(r.app, ec);  // our own old symlink (checked above)
  if (::symlink(places.pilot.c_str(), r.app.c_str()) != 0) {
    auto err = fail_errno("linking " + r.app + " to " + places.pilot);
    fs::remove(yaml_path, ec);
    return err;
  }
  return c;
}

Result<std::vector<FlakeEntry>> list_flakes(const std::string& flakes_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(flakes_dir, ec))
    if (entry.path().extension() == ".yaml" && entry.is_regular_file()) names.push_back(entry.path().stem().string());
  if (ec && ec != std::errc::no_such_file_or_directory) return fail(Errc::io, "reading " + flakes_dir + ": " + ec.message());
  std::sort(names.begin(), names.end());
  std::vector<FlakeEntry> out;
  for (const auto& n : names) out.push_back({n, load_flake(flakes_dir, n)});
  return out;
}

Result<void> remove_flake(engine::Engine& e, const FlakePlaces& places, const std::string& app, bool with_image) {
  std::string name = TRY(flake_name(app));
  std::string yaml_path = places.flakes_dir + "/" + name + ".yaml";
  std::error_code ec;
  bool registered = fs::exists(yaml_path, ec);
  if (!registered && !is_pilot_link(app)) return fail(Errc::not_found, "no flake " + name);
  auto c = load_flake(places.flakes_dir, name);
  // Its resume and attach containers (every @instance, by their label), then the agents' directories.
  auto containers = TRY(e.list(TRY(engine::parse_container_filter(true, {"label=" + std::string(kFlakeLabel) + "=" + name}))));
  std::string run_root = c && !c->run_root.empty() ? c->run_root : e.options().run_root;
  for (const auto& info : containers) {
    TRY_CTX(e.remove(info.id, true), "removing container " + info.name);
    fs::remove_all(run_root + "/flakes/" + info.name, ec);
    fs::remove(run_root + "/flakes/" + info.name + ".lock", ec);
  }
  if (is_pilot_link(app)) fs::remove(app, ec);
  fs::remove_all(places.flakes_dir + "/" + name + ".d", ec);
  fs::remove(yaml_path, ec);
  if (with_image && c) {
    // The merged image is the flake's own; the image it was made from goes too, as flake-ctl's --container.
    std::vector<std::string> images{c->engine_image};
    if (c->image != c->engine_image) images.push_back(c->image);
    for (const auto& image : images)
      if (!image.empty()) TRY_CTX(e.remove_image(image, false), "removing image " + image);
  }
  return {};
}

}  // namespace tiffin::flake
