// The client side of a shim's attach socket (shim/attach_protocol.hpp): what `run` in the
// foreground, `start -a` and `attach` do. Copies our stdin to the container (with -i), its
// output to our stdout/stderr, terminal size changes (SIGWINCH) with -t, and puts our terminal
// in raw mode meanwhile.
#pragma once

#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin::cli {

Result<UniqueFd> connect_attach(const std::string& socket_path);
// Runs until the shim reports the exit (its status is returned) or closes the connection
// (Errc::unavailable).
Result<int> attach_session(int sock, bool forward_stdin, bool tty);

}  // namespace tiffin::cli
