// Waiting for a container process in the foreground (`run`, `exec` without --detach): signals
// sent to the runtime go on to the process, as they would to a program run directly.
#pragma once

#include <sys/types.h>

namespace tiffin::runtime {

// Returns the exit code, or 128 + the signal that killed it.
int wait_forwarding_signals(pid_t pid);

}  // namespace tiffin::runtime
