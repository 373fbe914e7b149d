// The node's engine, daemonless (DESIGN §1): every CLI process opens it over the same --root
// and --run-root, and SQLite (WAL, busy timeout) keeps their views consistent. Containers keep
// running without it: each has a tiffin-shim, each image in use a tiffin mount process.
//
// On disk:
//   <root>/tiffin.db                 images, tags, containers, volumes
//   <root>/images/<id>.fl            flists (id = BLAKE2b-256 of the file)
//   <root>/blocks, <root>/cache      blocks of imported images; the verified block cache
//   <root>/containers/<id>/          bundle (config.json, rootfs/), layer/, status.json, container.log
//   <root>/volumes/<name>/_data      named volumes (sized ones: an ext4 image beside, loop-mounted)
//   <run-root>/mounts/<image id>     the shared lazy mount of an image, one per image in use
//   <run-root>/runtime               the runtime's state directories
//   <run-root>/c/<id>/               the shim's sockets and pid file
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/sqlite.hpp"
#include "engine/container_config.hpp"
#include "flist/image_config.hpp"

namespace tiffin::engine {

class Engine;
struct ImageReference;

struct EngineOptions {
  std::string root = "/var/lib/tiffin";
  std::string run_root = "/run/tiffin";
  std::string shim_binary;    // default: tiffin-shim beside the running executable
  std::string tiffin_binary;  // default: the running executable
  std::string full_binary;    // tiffin-full (mounts, pulls, imports); default: beside tiffin_binary
  bool progress = true;       // on pulls, imports and pushes (drawn only on a terminal)
};

struct ImageInfo {
  std::string id;                 // 64 hex
  std::vector<std::string> tags;  // "name:tag"
  std::string source;             // where it came from (hub URL, file, directory)
  int64_t created = 0;            // unix seconds
  uint64_t size = 0;              // bytes of file content it describes
  std::string flist;              // its .fl in the store
};

struct VolumeInfo {
  std::string name, mountpoint;
  uint64_t size_mib = 0;
  int64_t created = 0;
};

// A container as `ps` and `inspect` show it.
struct ContainerInfo {
  std::string id, name, image, image_id;
  ContainerConfig config;
  int64_t created = 0;
  std::string state;  // created | running | paused | restarting | exited
  int pid = 0;
  int exit_code = 0;
  int restart_count = 0;
  std::string started_at, finished_at, error;
  bool shim_alive = false;
};

struct ContainerFilter {
  bool all = false;                                   // else only running (and paused, restarting)
  std::multimap<std::string, std::string> filters;    // docker's name=, id=, status=, ancestor=, exited=
};

// What `run` and `start -a` hand back: the shim's answer on its ready pipe.
struct StartResult {
  int pid = 0;
  int exit_code = 0;  // 0, or 125/126/127 when the program could not start
  std::string error;
};

class Engine {
 public:
  static Result<Engine> open(EngineOptions opts);

  const EngineOptions& options() const { return opts_; }

  // ---- images
  // Finds or fetches an image: a name or id in the store, an .fl file (copied in), a hub URL
  // or hub/user/name:tag (pulled), or a directory/tar (packed into <root>/blocks).
  // Fetching needs the HTTP client and the packer (image_fetch.cpp); a binary built without
  // them (the lean `tiffin`) runs `tiffin-full pull|import` for it instead.
  Result<ImageInfo> resolve_image(const std::string& ref, bool pull_missing = true);
  // image_fetch.cpp:
  Result<ImageInfo> pull(const std::string& ref);  // always fetches a hub image anew
  // A directory or tar (packed), or an .fl file (added as it is); `name` may be empty.
  Result<ImageInfo> import(const std::string& source, const std::string& name, const ImageConfig& config);
  Result<std::vector<ImageInfo>> images();
  // Removes a tag; the image goes once untagged and unused (or with force, unused).
  Result<std::vector<std::string>> remove_image(const std::string& ref, bool force);
  Result<ImageConfig> image_config(const ImageInfo& image);

  // ---- containers
  Result<std::string> create(const ContainerConfig& config);
  // Starts the container's shim and returns its ready pipe once it listens for attach clients;
  // with attach_first the program starts only after a client attached. With auto_remove the
  // shim removes the container once it stopped for good (run -d --rm).
  Result<UniqueFd> launch_shim(const std::string& ref, bool attach_first, bool auto_remove);
  // The shim's answer on that pipe: the program runs, or why not (exit code 125/126/127).
  Result<StartResult> read_start_result(int ready_fd);
  Result<StartResult> start(const std::string& ref);
  Result<void> stop(const std::string& ref, std::chrono::seconds timeout);
  Result<void> kill(const std::string& ref, int signal);
  Result<void> remove(const std::string& ref, bool force);
  Result<void> pause(const std::string& ref, bool pause);
  Result<ContainerInfo> inspect(const std::string& ref);
  Result<std::vector<ContainerInfo>> list(const ContainerFilter& filter);
  // Waits until the container stopped for good; its exit code.
  Result<int> wait(const std::string& ref);
  Result<std::string> resolve_container(const std::string& ref);  // id or unique id prefix, or name
  std::string container_dir(const std::string& id) const { return opts_.root + "/containers/" + id; }
  std::string shim_dir(const std::string& id) const { return opts_.run_root + "/c/" + id; }
  std::string runtime_root() const { return opts_.run_root + "/runtime"; }
  std::string log_path(const std::string& id) const { return container_dir(id) + "/container.log"; }
  // Removes stopped containers, unused images (untagged ones, or all with `all`) and unused
  // volumes (with `volumes`); what went, one line each.
  Result<std::vector<std::string>> prune(bool all, bool volumes);

  // ---- volumes
  Result<VolumeInfo> create_volume(const std::string& name, uint64_t size_mib);
  Result<std::vector<VolumeInfo>> volumes();
  Result<VolumeInfo> volume(const std::string& name);
  Result<void> remove_volume(const std::string& name, bool force);

 private:
  Engine(EngineOptions opts, sql::Db db) : opts_(std::move(opts)), db_(std::move(db)) {}

  Result<ImageInfo> add_image_file(const std::string& flist_path, const std::string& source, const std::string& tag);
  Result<ImageInfo> fetch_image(const ImageReference& ref);
  Result<std::optional<ImageInfo>> find_image(const std::string& ref);
  Result<ContainerInfo> load_container(const std::string& id);
  Result<void> prepare_rootfs(const std::string& id, const ContainerConfig& c, const ImageInfo& image);
  Result<std::vector<std::string>> volume_mounts(const ContainerConfig& c);
  Result<void> write_bundle(const std::string& id, const ContainerConfig& c, const ImageInfo& image);
  Result<void> release_rootfs(const std::string& id, const ContainerConfig& c, const std::string& image_id);
  bool shim_alive(const std::string& id) const;
  void refresh_state(ContainerInfo& info) const;

  EngineOptions opts_;
  sql::Db db_;
};

// How images get fetched: by running `tiffin-full` (the lean tiffin), or in this process once
// set_image_fetcher(fetch_image_in_process) was called (tiffin-full, which links image_fetch.cpp).
using ImageFetcher = Result<ImageInfo> (*)(Engine& engine, const ImageReference& ref);
void set_image_fetcher(ImageFetcher fetcher);
Result<ImageInfo> fetch_image_in_process(Engine& engine, const ImageReference& ref);  // image_fetch.cpp

// A 64-hex id's short form, as docker shows it.
inline std::string short_id(const std::string& id) { return id.substr(0, 12); }

}  // namespace tiffin::engine
