// Registering, listing and removing flakes on a node (`tiffin flake …`). A registration is the
// YAML of flake_config.hpp plus the command's symlink to tiffin-pilot; its image is resolved in
// the node's store when it is registered, so a call never fetches anything:
//  - --base and --layer images are merged with the image into one flist, stored as an image of
//    its own: a new .fl of a few kB over the same blocks (nothing is copied);
//  - --include'd tars and paths stay where they are and are copied into each container's
//    writable layer when it is made, as flake-pilot does;
//  - --vm flakes get the guest's kernel and an initramfs with tiffin's init (built once per
//    kernel, kept in <root>/flakes/).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/engine.hpp"
#include "flake/flake_config.hpp"

namespace tiffin::flake {

struct FlakePlaces {
  std::string flakes_dir = "/usr/share/flakes";
  std::string pilot;    // tiffin-pilot, the symlinks' target
  std::string vm_init;  // tiffin-vminit, /init of the microVMs' initramfs
};

struct RegisterRequest {
  std::string app;     // /usr/bin/NAME
  std::string image;   // as resolve_image takes it
  std::string target;  // in the image; default: app
  std::string base;
  std::vector<std::string> layers;
  std::vector<std::string> includes;  // tars (by their name) or files and directories
  bool resume = false, attach = false, home = false;
  std::string user;
  std::vector<std::string> run_options;
  bool vm = false;
  std::string kernel;  // default: the host's newest in /boot
  unsigned memory_mib = 0, cpus = 0;
  std::string accel;  // kvm, tcg, or "": decided at each call (vm_flake.hpp)
};

// Errc::conflict when the app exists (and is not this flake's symlink) or the flake is
// registered; Errc::not_found for a missing image; nothing is left behind on failure.
Result<FlakeConfig> register_flake(engine::Engine& e, const FlakePlaces& places, const RegisterRequest& r);

struct FlakeEntry {
  std::string name;
  Result<FlakeConfig> config;  // a registration that does not parse is listed with its error
};
Result<std::vector<FlakeEntry>> list_flakes(const std::string& flakes_dir);

// The symlink (only when it is one), the YAML and NAME.d, the flake's containers and their agent
// directories, and with `with_image` the image it runs (when no container uses it).
// Errc::not_found when there is no such flake.
Result<void> remove_flake(engine::Engine& e, const FlakePlaces& places, const std::string& app, bool with_image);

}  // namespace tiffin::flake
