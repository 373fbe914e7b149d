// The client side of an attached session (shim/shim_protocol.hpp): what `run` in the
// foreground, `start -a` and `attach` do. Copies our stdin to the container (with stdin),
// its output to our stdout/stderr, terminal size changes (SIGWINCH) with a tty, and puts our
// terminal in raw mode meanwhile.
#pragma once

#include <functional>
#include <optional>

#include "common/error.hpp"
#include "engine/engine.hpp"
#include "engine/shim_client.hpp"

namespace tiffin::cli {

// The size of our terminal, if stdin is one.
std::optional<shim::Resize> terminal_size();

// Runs until the shim reports the exit (its code is returned) or closes the connection
// (Errc::unavailable). With `forward_signal`, the signals that would end us (INT, TERM, HUP,
// QUIT, USR1, USR2) go to it instead (docker's --sig-proxy): Ctrl-C reaches a program that has
// no terminal.
Result<int> attach_session(
    engine::ShimConnection& session, bool forward_stdin, bool tty, const std::function<void(int)>& forward_signal = {});

// Starts a container attached (`run` in the foreground, `start -a`): the terminal's size reaches
// the container before its program runs. The program's exit code, or what the shim recorded if
// it went away mid-session.
Result<int> start_attached(engine::Engine& e, const std::string& id, bool with_stdin, bool tty);

}  // namespace tiffin::cli
