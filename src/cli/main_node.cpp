// tiffin: the node's verbs (run, ps, exec …), in a binary that links none of the HTTP, TLS,
// archive or FUSE-server libraries, so every command starts in a few milliseconds instead of
// fifteen. The other verbs are tiffin-full's: exec'd with the same arguments.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "cli/cli.hpp"

namespace tiffin::cli {

int run_node(int argc, char** argv) {
  static const std::set<std::string> full_verbs = {"flist", "flake", "hub", "push", "pull", "load", "save", "import", "commit", "build",
      "builder", "login", "logout", "serve", "cp", "node", "deploy", "workloads", "zos"};
  // Run as `zos` (a symlink), every word is the zos command line's: tiffin-full reads argv[0] too.
  bool as_zos = argc > 0 && std::filesystem::path(argv[0]).filename() == "zos";
  if (as_zos || full_verbs.contains(first_verb(argc, argv)) || zos_network_verb(argc, argv) || prune_verb(argc, argv) ||
      !remote_node_of(argc, argv).empty()) {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    std::string full = ((ec ? std::filesystem::path(argv[0]) : self).parent_path() / "tiffin-full").string();
    ::execv(full.c_str(), argv);
    std::fprintf(stderr, "tiffin: cannot run %s: %s\n", full.c_str(), std::strerror(errno));
    return 125;
  }
  return run_with(argc, argv, [](CLI::App& app, Context& ctx) {
    add_node_verbs(app, ctx);
    // Listed in --help; never reached (handed to tiffin-full above).
    for (const auto& [verb, what] :
        std::initializer_list<std::pair<const char*, const char*>>{{"flist", "Make, inspect, mount and change flists"},
            {"flake", "Host commands that run in a container or a microVM"}, {"hub", "Serve flists and blocks; tokens, listings, links"},
            {"push", "Upload an image to a hub or a registry"}, {"pull", "Fetch an image from a registry (converted to an flist) or a hub"},
            {"load", "Load images from a docker-archive or oci-archive tar"},
            {"save", "Write images to a tar that docker load and OCI tools read"},
            {"import", "Pack a directory or tar (or add an .fl) into the local image store"},
            {"commit", "Make a new image from a container's changes"}, {"build", "Build an image from a Dockerfile"},
            {"builder", "The build cache (prune, du)"}, {"login", "Log in to a registry"},
            {"logout", "Forget the credentials stored for a registry"},
            {"serve", "Serve the Docker Engine API (for the docker CLI, compose, SDKs)"},
            {"cp", "Copy files between a container and the host"},
            {"node", "Zero-OS node: identity, users, remote nodes (add, ping, info, disks, exec)"},
            {"deploy", "Deploy a Zero-OS container workload (signed)"}, {"workloads", "List a node's Zero-OS workloads"},
            {"zos", "ThreeFold's zos command line against Zero-OS nodes (configure, cmd, exec, container …)"}})
      app.add_subcommand(verb, what)->allow_extras();
  });
}

}  // namespace tiffin::cli
