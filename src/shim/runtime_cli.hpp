// The shim's side of the OCI runtime's command line: `<runtime> --root R --error-fd 3 <verb> …`
// with the typed error the runtime writes on fd 3 (tiffin-oci's extension to runc's command
// line) brought back as the Error it was.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "shim/shim_config.hpp"

namespace tiffin::shim {

struct RuntimeCall {
  pid_t pid = 0;
  UniqueFd errors;  // read end of the runtime's --error-fd
  std::string verb;
};

// Starts the runtime with `args` (the verb first) and the given descriptors as its 0, 1 and 2
// (-1: /dev/null), and `fd4` as its 4 (-1: none).
Result<RuntimeCall> spawn_runtime(
    const ShimConfig& c, const std::vector<std::string>& args, int in = -1, int out = -1, int err = -1, int fd4 = -1);
// Waits for it: success, or the error it reported (Errc::internal when it said nothing).
Result<void> finish_runtime(RuntimeCall& call);
// Both, with /dev/null as stdio.
Result<void> call_runtime(const ShimConfig& c, const std::vector<std::string>& args);

}  // namespace tiffin::shim
