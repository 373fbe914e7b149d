// A program started on a terminal of its own: a new session whose controlling terminal is a
// fresh pty's slave, with the master kept by coreX. Exec failures come back through a
// close-on-exec pipe as program_not_found / program_not_executable, never as a silent exit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin::corex {

struct PtyChild {
  pid_t pid = -1;
  UniqueFd master;  // non-blocking, close-on-exec
};

// `env`: KEY=value, the whole environment of the program. argv[0] is looked up in env's PATH.
Result<PtyChild> spawn_on_pty(const std::vector<std::string>& argv, const std::vector<std::string>& env, uint16_t rows, uint16_t cols);
Result<void> set_window_size(int master, uint16_t rows, uint16_t cols);

}  // namespace tiffin::corex
