#include "common/subprocess.hpp"

#include <filesystem>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/fd.hpp"

namespace tiffin {

std::vector<std::string> environ_with(const std::vector<std::string>& over) {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e) {
    std::string_view var(*e);
    bool replaced = std::ranges::any_of(over, [&](const std::string& x) {
      auto eq = x.find('=');  // an entry without one replaces nothing
      return eq != std::string::npos && var.starts_with(std::string_view(x).substr(0, eq + 1));
    });
    if (!replaced) out.emplace_back(var);
  }
  out.insert(out.end(), over.begin(), over.end());
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

Result<pid_t> spawn(
    const std::vector<std::string>& argv, const std::function<bool()>& in_child, const std::vector<std::string>& extra_env) {
  if (argv.empty()) return fail(Errc::invalid_input, "no program to run");
  for (const auto& x : extra_env)
    if (x.find('=') == std::string::npos || x.front() == '=')
      return fail(Errc::invalid_input, "not NAME=value: " + x.substr(0, x.find('=')));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = extra_env.empty() ? std::vector<std::string>{} : environ_with(extra_env);
  std::vector<char*> env = extra_env.empty() ? std::vector<char*>{} : c_strings(env_strings);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    if (in_child && !in_child()) ::_exit(127);
    if (env.empty()) ::execvp(args[0], args.data());
    else ::execvpe(args[0], args.data(), env.data());
    std::perror(("tiffin: exec " + argv[0]).c_str());
    ::_exit(127);
  }
  return pid;
}

Result<Captured> run_captured(const std::vector<std::string>& argv, bool with_stderr) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd r(out[0]), w(out[1]);
  pid_t pid = TRY(spawn(argv, [fd = w.get(), with_stderr] {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    return null >= 0 && ::dup2(null, 0) >= 0 && ::dup2(fd, 1) >= 0 && (!with_stderr || ::dup2(fd, 2) >= 0);
  }));
  w.reset();
  Captured c;
  char buf[65536];
  for (ssize_t n; (n = ::read(r.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    c.out.append(buf, static_cast<size_t>(n));
  }
  c.exit_code = wait_exit(pid);
  return c;
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  return exit_code(status);
}

std::string self_executable() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.string();
}

std::string beside_self(const std::string& name) { return (std::filesystem::path(self_executable()).parent_path() / name).string(); }

}  // namespace tiffin
