// Running other programs: fork, an optional step in the child, execvp, and waiting.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace tiffin {

// Starts argv[0] (searched in PATH). `in_child` runs in the child between fork and exec; it
// should only make system calls, and returns false to give up (the child exits 127).
// `extra_env` ("NAME=value") is added to the child's environment, replacing what the parent has
// under those names; it is built before the fork, so a multithreaded parent may use it (a
// secret passed so stays out of argv, which any user can read in /proc).
Result<pid_t> spawn(
    const std::vector<std::string>& argv, const std::function<bool()>& in_child = {}, const std::vector<std::string>& extra_env = {});

// This process's environment with `over` ("NAME=value") added, replacing the same names (an
// entry without '=' replaces nothing).
std::vector<std::string> environ_with(const std::vector<std::string>& over);
// An exec argument or environment vector over `strings` (which must outlive it), ending in nullptr.
std::vector<char*> c_strings(std::vector<std::string>& strings);

// Runs argv with its stdout read into a string (stderr and stdin are the caller's) and waits.
struct Captured {
  int exit_code = 0;
  std::string out;
};
// Its standard output (and error, with `with_stderr`: the two interleaved as they came) and exit
// code; its standard input is /dev/null.
Result<Captured> run_captured(const std::vector<std::string>& argv, bool with_stderr = false);

// The running executable's path (/proc/self/exe), and a program installed beside it: how
// tiffin's binaries find each other (tiffin-pilot → tiffin, tiffin-full → tiffin-pilot …).
std::string self_executable();
std::string beside_self(const std::string& name);

// Waits for `pid`: its exit code, or 128 + the number of the signal that killed it.
int wait_exit(pid_t pid);
// The same for a status from waitpid.
int exit_code(int wait_status);

}  // namespace tiffin
