// A flake's registration: a host command (/usr/bin/NAME, a symlink to tiffin-pilot) that runs
// inside a container or a microVM. Stored as flake-pilot stores it, so flakes written for
// flake-pilot work unchanged and flake-pilot reads ours:
//
//   <flakes dir>/NAME.yaml      the registration
//   <flakes dir>/NAME.d/*.yaml  read after it in name order; later settings win, maps merge
//
// flake-pilot's schema (podman-pilot(8), firecracker-pilot(8)):
//   container|vm:
//     name: IMAGE               target_app_path: /in/image     host_app_path: /usr/bin/NAME
//     base_container: IMAGE     layers: [IMAGE, …]             (container only)
//     runtime: { runas: root, resume: bool, attach: bool,
//                podman: [RUN-FLAG, …],                        (container: run flags)
//                firecracker: { mem_size_mib, vcpu_count, kernel_image_path, initrd_path } }
//   include: { tar: [FILE, …], path: [FILE|DIR, …] }
// and tiffin's own section, which flake-pilot ignores:
//   tiffin: { image: IMAGE-ID, root: DIR, run_root: DIR, user: U, home: bool, accel: kvm|tcg }
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::flake {

struct FlakeConfig {
  bool vm = false;              // the `vm:` section, else `container:`
  std::string image;            // name: the image as the user named it
  std::string target_app_path;  // the program inside; host_app_path when empty
  std::string host_app_path;    // the command on the host
  std::string base_container;   // the image the delta `image` was made on
  std::vector<std::string> layers;
  std::string runas;  // flake-pilot: the user that runs the engine (tiffin's engine runs as root)
  bool resume = false, attach = false;
  std::vector<std::string> run_options;  // runtime.podman: extra `run` flags, one flag (and value) an entry
  std::vector<std::string> include_tars, include_paths;
  // runtime.firecracker (vm): 0 / "" = the default
  unsigned memory_mib = 0, cpus = 0;
  std::string kernel, initrd;
  // tiffin:
  std::string accel;         // vm: kvm, tcg (emulation), or "": KVM where the processor's virtualization backs it, else tcg
  std::string engine_image;  // what the engine runs: the merged flist of base, layers and image, or the image
  std::string root, run_root;
  std::string user;   // the app's user inside (run's --user)
  bool home = false;  // the caller's $HOME is visible inside

  // What the pilot runs: target_app_path, else host_app_path.
  const std::string& target() const { return target_app_path.empty() ? host_app_path : target_app_path; }
  bool operator==(const FlakeConfig&) const = default;
};

// The flake's name: host_app_path's last part ("/usr/bin/aws" → "aws"). Errc::invalid_input
// unless it is a plain file name (no "..", no "/", not empty, not hidden).
Result<std::string> flake_name(std::string_view host_app_path);

// Parses YAML documents in order, each merged over the ones before (maps key by key, anything
// else replaced), the way flake-pilot reads NAME.yaml and NAME.d/*.yaml. `names` label errors.
// Errc::invalid_input for YAML that does not parse or a registration without the mandatory keys
// (a `container` or `vm` map with name and host_app_path); unknown keys are ignored.
Result<FlakeConfig> parse_flake_yaml(const std::vector<std::string>& documents, const std::vector<std::string>& names);
// One YAML document that parse_flake_yaml reads back to the same FlakeConfig.
std::string flake_yaml(const FlakeConfig& c);

// <dir>/NAME.yaml, then <dir>/NAME.d/*.yaml sorted by name. Errc::not_found when NAME.yaml is not there.
Result<FlakeConfig> load_flake(const std::string& flakes_dir, const std::string& name);

// A run flag from runtime.podman as words: "--storage-opt size=10G" → {"--storage-opt",
// "size=10G"}, "-v=/a:/b" and "--rm" stay one word.
std::vector<std::string> split_run_option(const std::string& option);

}  // namespace tiffin::flake
