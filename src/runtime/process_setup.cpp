#include "runtime/process_setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "common/fd.hpp"
#include "common/text.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/fd_range.hpp"
#include "runtime/lsm.hpp"
#include "common/default_path.hpp"

namespace tiffin::runtime {
namespace {

const std::map<std::string, int>& rlimit_numbers() {
  static const std::map<std::string, int> m = {{"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK}};
  return m;
}

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') return e.substr(key.size() + 1);
  return {};
}

// HOME from /etc/passwd of the container, read directly (no NSS in a container's root).
std::string home_of(uint32_t uid) {
  auto data = read_file("/etc/passwd", 4 << 20);
  if (!data) return "/";
  for (const auto& line : split(std::string_view(reinterpret_cast<const char*>(data->data()), data->size()), '\n')) {
    auto f = split(line, ':');  // name:password:uid:gid:gecos:home:shell
    if (f.size() >= 6 && f[2] == std::to_string(uid)) return f[5];
  }
  return "/";
}

}  // namespace

Result<void> apply_rlimits(const std::vector<Rlimit>& rlimits) {
  for (const auto& r : rlimits) {
    auto it = rlimit_numbers().find(r.type);
    if (it == rlimit_numbers().end()) return fail(Errc::invalid_input, "unknown rlimit " + r.type);
    struct rlimit lim {
      r.soft, r.hard
    };
    if (::setrlimit(it->second, &lim) != 0)
      return fail_errno("setting " + r.type + " to " + std::to_string(r.soft) + ":" + std::to_string(r.hard));
  }
  return {};
}

Result<void> set_oom_score_adj(int value) {
  UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
  if (!fd) return fail_errno("opening /proc/self/oom_score_adj");
  std::string v = std::to_string(value);
  if (::write(fd.get(), v.data(), v.size()) < 0) return fail_errno("setting oom_score_adj to " + v);
  return {};
}

Result<void> switch_user(const User& user) {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return fail_errno("PR_SET_KEEPCAPS");
  std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
  // setgroups is refused in a user namespace whose setgroups file says deny; then only an
  // empty request could have worked anyway.
  if (::setgroups(groups.size(), groups.data()) != 0 && !(errno == EPERM && groups.empty())) return fail_errno("setgroups");
  if (::setresgid(user.gid, user.gid, user.gid) != 0) return fail_errno("setting gid " + std::to_string(user.gid));
  if (::setresuid(user.uid, user.uid, user.uid) != 0) return fail_errno("setting uid " + std::to_string(user.uid));
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return fail_errno("PR_SET_KEEPCAPS");
  return {};
}

Result<std::string> find_executable(const std::string& arg0, const std::vector<std::string>& env) {
  auto executable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
  };
  if (arg0.find('/') != std::string::npos) {
    if (!executable(arg0)) {
      int e = errno;
      struct stat st;
      Errc kind = Errc::program_not_found;
      if (::stat(arg0.c_str(), &st) == 0) {
        e = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
        kind = Errc::program_not_executable;
      }
      return std::unexpected(Error{kind, e, "exec: \"" + arg0 + "\": " + strerror(e)});
    }
    return arg0;
  }
  std::string path = env_value(env, "PATH");
  if (path.empty()) path = std::string(kDefaultPath);
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + arg0;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return std::unexpected(Error{Errc::program_not_found, ENOENT, "exec: \"" + arg0 + "\": executable file not found in $PATH"});
}

std::vector<std::string> process_environment(const Process& p) {
  std::vector<std::string> env = p.env;
  if (env_value(env, "PATH").empty()) env.emplace_back(kDefaultPathEnv);
  if (env_value(env, "HOME").empty()) env.push_back("HOME=" + home_of(p.user.uid));
  return env;
}

void ExecArgs::build() {
  argv.clear();
  envp.clear();
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
}

Result<PreparedProcess> prepare_process(const Process& p, const std::optional<SeccompProgram>& seccomp, int preserve_fds) {
  PreparedProcess out;
  TRY(apply_rlimits(p.rlimits));
  if (p.oom_score_adj) TRY(set_oom_score_adj(*p.oom_score_adj));
  ::umask(p.user.umask.value_or(022));
  if (::chdir(p.cwd.c_str()) != 0) return fail_errno("chdir to cwd " + p.cwd);
  out.exec.env_strings = process_environment(p);
  out.exec.path = TRY(find_executable(p.args.at(0), out.exec.env_strings));
  out.exec.argv_strings = p.args;
  out.exec.build();
  // Before any filter: the container's profile need not allow close_range (older Docker and
  // Kubernetes profiles do not), and the fallback's syscalls even less.
  TRY(close_fd_range(3 + static_cast<unsigned>(preserve_fds), ~0U, true));
  TRY(apply_lsm_exec_labels(p));
  std::optional<SeccompProgram> filter = seccomp;
  if (filter && !p.no_new_privileges) {
    TRY(filter->load());
    filter.reset();
  }
  TRY(drop_bounding_set(p.capabilities.bounding));
  TRY(switch_user(p.user));
  TRY(apply_capabilities(p.capabilities));
  if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail_errno("setting no_new_privs");
  out.late_filter = std::move(filter);
  return out;
}

void exec_prepared(PreparedProcess& p) {
  if (p.late_filter) {
    if (auto r = p.late_filter->load(); !r) {
      std::string msg = "tiffin-oci: " + r.error().what() + "\n";
      (void)!::write(2, msg.data(), msg.size());
      ::_exit(127);
    }
  }
  ::execve(p.exec.path.c_str(), p.exec.argv.data(), p.exec.envp.data());
  std::string msg = "tiffin-oci: exec " + p.exec.path + ": " + strerror(errno) + "\n";
  (void)!::write(2, msg.data(), msg.size());
  ::_exit(127);
}

}  // namespace tiffin::runtime
