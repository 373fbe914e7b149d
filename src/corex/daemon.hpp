// tiffin-corex as a whole: PID 1 of an interactive container (or any process's parent). It
// reaps every child (its processes and the orphans the kernel gives it), forwards SIGUSR1/2 to
// its processes, and on SIGTERM, SIGINT, SIGHUP or SIGQUIT shuts down cleanly: stops accepting,
// hangs up and terminates every process group, SIGKILLs what is left after 5 s, then exits 0.
// It listens where Options say (interface_addresses.hpp) and prints each address as
// "coreX: listening on http://ADDR:PORT/" on stdout.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "corex/options.hpp"

namespace tiffin::corex {

// The processes' environment: coreX's own without the token, with TERM, HOME and PATH
// defaulted.
std::vector<std::string> process_environment(char** environ_in);

Result<void> run_corex(const Options& options, std::vector<std::string> process_env);

}  // namespace tiffin::corex
