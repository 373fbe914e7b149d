// One container's cgroup: a directory in every hierarchy of the layout (all v1 controllers and,
// on hybrid hosts, the unified v2 one too, as runc does), resources applied, processes added,
// frozen, signalled and removed. Directories are absolute paths so the cgroup can be reopened
// from the container's saved state.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/cgroup_layout.hpp"
#include "runtime/spec.hpp"

namespace tiffin::runtime {

// A cgroupsPath resolved: absolute paths stay (relative to each hierarchy's root), relative ones
// go under the caller's own cgroup, systemd's "slice:prefix:name" becomes
// "/slice/prefix-name.scope", and an empty one "/tiffin-oci/<id>".
std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& id);

class Cgroup {
 public:
  Cgroup() = default;
  // Works out the directories, and which missing parents make() will add (created()), without
  // making anything: the runtime saves them in the container's state first, so a create killed
  // at any point leaves what `delete` needs to remove everything.
  static Result<Cgroup> plan(const CgroupLayout& layout, const std::string& cgroups_path);
  // Makes the planned directories (parents first; ones that exist are fine) and readies them:
  // v1 cpusets inherit their parent's cpus and mems, pure v2 parents enable the controllers.
  Result<void> make(const CgroupLayout& layout) const;
  // Reopens one made before, from dirs() and created().
  static Cgroup open(CgroupMode mode, std::vector<std::string> dirs, std::vector<std::string> created);

  Result<void> apply(const Resources& r) const;
  Result<void> add_process(pid_t pid) const;
  Result<std::vector<pid_t>> pids() const;
  Result<void> set_frozen(bool frozen) const;
  bool frozen() const;
  // Signals every process; SIGKILL with the cgroup frozen first so nothing forks in between.
  Result<void> signal_all(int sig) const;
  // Removes the directories (waiting briefly for exiting processes) and the parents made for it;
  // ones never made are no error.
  Result<void> destroy() const;

  CgroupMode mode() const { return mode_; }
  const std::vector<std::string>& dirs() const { return dirs_; }
  const std::vector<std::string>& created() const { return created_; }
  // The directory of the hierarchy holding `controller` ("" for the v2 one), or "".
  std::string dir_of(const std::string& controller) const;

 private:
  CgroupMode mode_ = CgroupMode::v2;
  std::vector<std::string> dirs_;     // one per hierarchy
  std::vector<std::string> created_;  // parents made by create(), deepest first
};

}  // namespace tiffin::runtime
