#include "common/subprocess.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace tiffin {

Result<pid_t> spawn(const std::vector<std::string>& argv, const std::function<bool()>& in_child) {
  if (argv.empty()) return fail(Errc::invalid_input, "no program to run");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    if (in_child && !in_child()) ::_exit(127);
    ::execvp(args[0], args.data());
    std::perror(("tiffin: exec " + argv[0]).c_str());
    ::_exit(127);
  }
  return pid;
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

int wait_exit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  return exit_code(status);
}

}  // namespace tiffin
