// What the runtime remembers about a container between invocations: <root>/<id>/state.json,
// a copy of its config.json, and the exec.fifo its first process waits on until `start`. A
// container's status is worked out from those and the live system, never trusted from the file:
// the init's pid must still exist with the same start time (pids are reused).
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/cgroup.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

enum class Status { creating, created, running, paused, stopped };
const char* status_name(Status s);

struct ContainerState {
  std::string id, bundle, rootfs, created, oci_version = "1.1.0";
  pid_t pid = 0;
  uint64_t pid_start = 0;  // the init's start time (clock ticks after boot)
  pid_t creator = 0;       // the `create` process while the container is still being made
  std::map<std::string, std::string> annotations;
  std::vector<Namespace> namespaces;  // what exec joins
  bool no_pivot = false;
  CgroupMode cgroup_mode = CgroupMode::v2;
  std::vector<std::string> cgroup_dirs, cgroup_created;

  Cgroup cgroup() const { return Cgroup::open(cgroup_mode, cgroup_dirs, cgroup_created); }
};

// The state document runc prints (indented) and hooks read on stdin (one line).
std::string oci_state_json(const ContainerState& s, Status status, bool indent = false);

// Container ids: letters, digits, '_', '+', '-', '.'; not "." or "..".
Result<void> check_container_id(const std::string& id);

// The start time of a live (not zombie) process, or 0.
uint64_t process_start_time(pid_t pid);

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string fifo(const std::string& id) const { return dir(id) + "/exec.fifo"; }
  std::string config(const std::string& id) const { return dir(id) + "/config.json"; }

  // Makes <root>/<id>; a conflict error "container with id exists: <id>" when it is there.
  Result<void> make_dir(const std::string& id) const;
  Result<void> save(const ContainerState& s) const;
  // Errc::not_found with "container <id> does not exist" when there is no such container.
  Result<ContainerState> load(const std::string& id) const;
  void remove(const std::string& id) const;
  std::vector<std::string> ids() const;

  Status status(const ContainerState& s) const;
  // The container's config.json as saved at create.
  Result<Spec> saved_spec(const ContainerState& s) const;

 private:
  std::string root_;
};

}  // namespace tiffin::runtime
