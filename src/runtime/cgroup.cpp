#include "runtime/cgroup.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "runtime/cgroup_settings.hpp"

namespace tiffin::runtime {
namespace {

Result<void> write_text(const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno("opening " + path);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    return fail_errno("writing '" + value + "' to " + path);
  return {};
}

std::string read_text(const std::string& path) {
  auto data = read_file(path, 1 << 20);
  if (!data) return {};
  std::string s(data->begin(), data->end());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string join_path(const std::string& a, const std::string& b) {
  std::string out = a;
  if (!b.empty() && b != "/") out += (b[0] == '/' ? "" : "/") + b;
  return std::filesystem::path(out).lexically_normal().string();
}

}  // namespace

std::string resolve_cgroups_path(const std::string& cgroups_path, const std::string& id) {
  if (cgroups_path.empty()) return "/tiffin-oci/" + id;
  // systemd's form, from --systemd-cgroup callers: "system.slice:libpod:abc".
  auto first = cgroups_path.find(':');
  if (first != std::string::npos && cgroups_path[0] != '/') {
    auto second = cgroups_path.find(':', first + 1);
    std::string slice = cgroups_path.substr(0, first);
    std::string prefix = second == std::string::npos ? "" : cgroups_path.substr(first + 1, second - first - 1);
    std::string name = second == std::string::npos ? cgroups_path.substr(first + 1) : cgroups_path.substr(second + 1);
    if (slice.empty()) slice = "system.slice";
    return "/" + slice + "/" + (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  }
  return cgroups_path;
}

Result<Cgroup> Cgroup::plan(const CgroupLayout& layout, const std::string& cgroups_path) {
  Cgroup cg;
  cg.mode_ = layout.mode;
  std::string self = read_text("/proc/self/cgroup");
  for (const auto& h : layout.hierarchies) {
    std::string path = cgroups_path;
    if (path.empty() || path[0] != '/') path = join_path(own_cgroup(self, h), path);
    // Inside a container the mount's root is our own cgroup; paths are relative to it.
    if (h.root != "/" && path.starts_with(h.root)) path = path.substr(h.root.size());
    std::string dir = join_path(h.mount_point, path);
    if (dir == h.mount_point) return fail(Errc::invalid_input, "cgroupsPath " + cgroups_path + " is the root cgroup");
    // The parents make() will have to make, deepest first, so destroy() removes them too.
    for (auto p = std::filesystem::path(dir).parent_path(); p.string().size() > h.mount_point.size(); p = p.parent_path()) {
      if (::access(p.c_str(), F_OK) == 0) break;
      cg.created_.push_back(p.string());
    }
    cg.dirs_.push_back(dir);
  }
  return cg;
}

Result<void> Cgroup::make(const CgroupLayout& layout) const {
  if (layout.hierarchies.size() != dirs_.size()) return fail(Errc::internal, "cgroup: the layout changed since the plan");
  for (size_t i = 0; i < dirs_.size(); ++i) {
    const CgroupHierarchy& h = layout.hierarchies[i];
    const std::string& dir = dirs_[i];
    // Each missing level, parents first.
    std::vector<std::string> missing;
    for (std::filesystem::path p = dir; p.string().size() > h.mount_point.size(); p = p.parent_path()) {
      if (::access(p.c_str(), F_OK) == 0) break;
      missing.push_back(p.string());
    }
    std::reverse(missing.begin(), missing.end());
    for (const auto& m : missing) {
      if (::mkdir(m.c_str(), 0755) != 0 && errno != EEXIST) return fail_errno("creating cgroup " + m);
      // A new v1 cpuset starts with no cpus or memory nodes, and no task can join it then.
      if (h.has("cpuset")) {
        std::string parent = std::filesystem::path(m).parent_path().string();
        for (const char* f : {"/cpuset.cpus", "/cpuset.mems"})
          if (read_text(m + f).empty()) (void)write_text(m + f, read_text(parent + f));
      }
    }
    // Pure v2: controllers must be enabled in each parent for the leaf to have them.
    if (h.v2 && layout.mode == CgroupMode::v2) {
      std::string enable;
      for (const auto& c : h.controllers) enable += (enable.empty() ? "+" : " +") + c;
      std::string p = h.mount_point;
      for (const auto& part : std::filesystem::path(dir.substr(h.mount_point.size())).relative_path()) {
        if (!enable.empty()) (void)write_text(p + "/cgroup.subtree_control", enable);
        p = join_path(p, part.string());
        if (p == dir) break;
      }
    }
  }
  return {};
}

Cgroup Cgroup::open(CgroupMode mode, std::vector<std::string> dirs, std::vector<std::string> created) {
  Cgroup cg;
  cg.mode_ = mode;
  cg.dirs_ = std::move(dirs);
  cg.created_ = std::move(created);
  return cg;
}

std::string Cgroup::dir_of(const std::string& controller) const { return controller_dir(dirs_, controller); }

namespace {

bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

bool listed(const std::string& controllers_file, const std::string& controller) {
  for (const auto& c : split(read_text(controllers_file), ' '))
    if (c == controller) return true;
  return false;
}

// Makes a controller of the unified hierarchy available in `dir` if its root has it: on a
// hybrid host nothing enables it in the parents tiffin made (pure v2 ones are enabled by make()).
// Only done when a resource needs it, so a create that asks for nothing v2 pays nothing.
bool enable_v2_controller(const std::string& dir, const std::string& controller) {
  if (listed(dir + "/cgroup.controllers", controller)) return true;
  std::vector<std::filesystem::path> ancestors;
  for (auto p = std::filesystem::path(dir).parent_path(); exists(p / "cgroup.controllers"); p = p.parent_path()) ancestors.push_back(p);
  for (auto it = ancestors.rbegin(); it != ancestors.rend(); ++it)
    if (listed(*it / "cgroup.controllers", controller)) (void)write_text(*it / "cgroup.subtree_control", "+" + controller);
  return listed(dir + "/cgroup.controllers", controller);
}

Error refused(const CgroupWrite& w, const std::string& why) {
  return Error{Errc::unsupported, 0, "linux.resources." + w.field + " cannot be honoured on this host: " + why};
}

}  // namespace

// Each controller's writes come from the version that has it: v1 where it is mounted (v1 and
// hybrid), else the unified hierarchy (v2, and hybrid for what v1 lacks — hugetlb here). All are
// checked before the first write, so a refused field leaves nothing half applied.
Result<void> Cgroup::apply(const Resources& r) const {
  std::vector<CgroupWrite> v1 = mode_ == CgroupMode::v2 ? std::vector<CgroupWrite>{} : cgroup_v1_writes(r);
  std::vector<CgroupWrite> v2 = mode_ == CgroupMode::v1 ? std::vector<CgroupWrite>{} : cgroup_v2_writes(r);
  std::string unified = mode_ == CgroupMode::v1 ? "" : (mode_ == CgroupMode::v2 ? dirs_.at(0) : dir_of(""));
  auto v1_dir = [&](const std::string& controller) {
    std::vector<std::string> v1_dirs;
    for (const auto& d : dirs_)
      if (d != unified) v1_dirs.push_back(d);
    return controller_dir(v1_dirs, controller);
  };
  struct Planned {
    const CgroupWrite* w;
    std::string dir;
  };
  std::vector<Planned> planned;
  std::map<std::string, std::string> source;  // controller → "v1", "v2"
  auto choose = [&](const CgroupWrite& w) -> Result<std::string> {
    if (auto it = source.find(w.controller); it != source.end()) return it->second;
    std::string from;
    if (w.controller != "unified" && !v1_dir(w.controller).empty()) from = "v1";
    else if (!unified.empty() && (w.controller == "unified" || enable_v2_controller(unified, v2_controller_name(w.controller))))
      from = "v2";
    if (from.empty()) {
      if (w.controller == "unified")
        return std::unexpected(refused(w, "it names cgroup v2 files, and this host has no cgroup v2 hierarchy"));
      // Why neither version can: what each lacks, in the words of its translation's refusal.
      std::string why;
      if (mode_ != CgroupMode::v2) why = "the " + w.controller + " controller is not mounted (cgroup v1)";
      if (mode_ != CgroupMode::v1) {
        std::string v2_why = "the cgroup v2 hierarchy has no " + v2_controller_name(w.controller) + " controller";
        for (const auto& x : v2)
          if (x.controller == w.controller && !x.refused.empty()) v2_why = x.refused;
        why += (why.empty() ? "" : ", and ") + v2_why;
      }
      return std::unexpected(refused(w, why));
    }
    return source[w.controller] = from;
  };
  for (const auto* list : {&v1, &v2}) {
    std::string version = list == &v1 ? "v1" : "v2";
    for (const auto& w : *list) {
      if (TRY(choose(w)) != version) continue;
      if (!w.refused.empty()) return std::unexpected(refused(w, w.refused));
      planned.push_back({&w, version == "v1" ? v1_dir(w.controller) : unified});
    }
  }
  for (auto& [w, dir] : planned) {
    // A unified file's controller ("hugetlb" of hugetlb.2MB.max) may need enabling first.
    if (w->controller == "unified") (void)enable_v2_controller(dir, w->file.substr(0, w->file.find('.')));
    std::string file = dir + "/" + w->file, value = w->value;
    if (!exists(file) && !w->alt_file.empty() && exists(dir + "/" + w->alt_file)) {
      file = dir + "/" + w->alt_file;
      if (!w->alt_value.empty()) value = w->alt_value;
    }
    if (!exists(file)) {
      if (w->file == "memory.memsw.limit_in_bytes") {
        if (value == "-1") continue;
        return std::unexpected(refused(*w, "this kernel does not account swap"));
      }
      return std::unexpected(refused(*w, "this kernel has no " + w->file + (w->alt_file.empty() ? "" : " nor " + w->alt_file)));
    }
    auto done = write_text(file, value);
    // Raising the memory limit above memory+swap must raise memory+swap first.
    if (!done && done.error().sys_errno == EINVAL && w->file == "memory.limit_in_bytes" && r.memory_swap) {
      TRY(write_text(dir + "/memory.memsw.limit_in_bytes", std::to_string(*r.memory_swap)));
      done = write_text(file, value);
    }
    if (!done && done.error().sys_errno == EOPNOTSUPP) return std::unexpected(refused(*w, done.error().message));
    if (!done) return std::unexpected(std::move(done.error()).context("linux.resources." + w->field));
    if (w->verify) {
      // Limits are rounded down to a page.
      auto want = parse_uint(value), got = parse_uint(read_text(file));
      if (!want || !got || *got > *want || *want - *got >= 4096)
        return std::unexpected(
            refused(*w, "the kernel accepts " + w->file + " but does not enforce it (it reads back " + read_text(file) + ")"));
    }
  }
  return {};
}

Result<void> Cgroup::add_process(pid_t pid) const {
  std::string p = std::to_string(pid);
  for (const auto& d : dirs_) TRY(write_text(d + "/cgroup.procs", p));
  return {};
}

Result<std::vector<pid_t>> Cgroup::pids() const {
  if (dirs_.empty()) return std::vector<pid_t>{};
  std::string dir = dir_of("pids");
  if (dir.empty()) dir = dirs_.back();
  auto data = read_file(dir + "/cgroup.procs", 64 << 20);
  if (!data) {
    if (data.error().sys_errno == ENOENT) return std::vector<pid_t>{};
    return std::unexpected(data.error());
  }
  std::vector<pid_t> out;
  pid_t cur = 0;
  bool any = false;
  for (uint8_t c : *data) {
    if (c >= '0' && c <= '9') {
      cur = cur * 10 + (c - '0');
      any = true;
    } else if (any) {
      out.push_back(cur);
      cur = 0;
      any = false;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

Result<void> Cgroup::set_frozen(bool freeze) const {
  std::string v1 = mode_ == CgroupMode::v2 ? "" : dir_of("freezer");
  if (v1.empty() && mode_ != CgroupMode::v2) return fail(Errc::unsupported, "the freezer cgroup controller is not mounted");
  std::string file = v1.empty() ? dirs_.at(0) + "/cgroup.freeze" : v1 + "/freezer.state";
  auto request = [&](bool f) { return write_text(file, v1.empty() ? (f ? "1" : "0") : (f ? "FROZEN" : "THAWED")); };
  auto reached = [&] {
    if (!v1.empty()) return read_text(file) == (freeze ? "FROZEN" : "THAWED");
    return read_text(dirs_.at(0) + "/cgroup.events").find(freeze ? "frozen 1" : "frozen 0") != std::string::npos;
  };
  TRY(request(freeze));
  // The kernel gets there asynchronously; v1 may need asking again while tasks are busy.
  for (int i = 0; i < 1000; ++i) {
    if (reached()) return {};
    if (freeze && !v1.empty() && i % 10 == 9) (void)request(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!freeze) return fail(Errc::unavailable, "the container's processes did not thaw within a second");
  // A freeze that does not complete is undone: a cgroup left half frozen is neither paused nor
  // running, so `resume` would refuse it, and a SIGKILL would stay pending in whatever froze.
  (void)request(false);
  return fail(Errc::unavailable, "the container's processes did not freeze within a second");
}

bool Cgroup::frozen() const {
  if (mode_ != CgroupMode::v2) {
    std::string v1 = dir_of("freezer");
    return !v1.empty() && read_text(v1 + "/freezer.state") == "FROZEN";
  }
  return !dirs_.empty() && read_text(dirs_[0] + "/cgroup.freeze") == "1";
}

Result<void> Cgroup::signal_all(int sig) const {
  bool freeze = sig == SIGKILL && (mode_ == CgroupMode::v2 || !dir_of("freezer").empty());
  if (freeze) (void)set_frozen(true);
  auto pids = this->pids();
  if (pids)
    for (pid_t p : *pids) ::kill(p, sig);
  if (freeze) (void)set_frozen(false);
  if (!pids) return std::unexpected(pids.error());
  return {};
}

Result<void> Cgroup::destroy() const {
  // Directories never made (a create killed before make()) are already gone.
  for (const auto& d : dirs_) {
    // Processes that were just killed leave their cgroup a moment later.
    for (int attempt = 0;; ++attempt) {
      if (::rmdir(d.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY || attempt == 200) return fail_errno("removing cgroup " + d);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // Parents we made go too when nothing else has moved in since.
  for (const auto& p : created_) ::rmdir(p.c_str());
  return {};
}

}  // namespace tiffin::runtime
