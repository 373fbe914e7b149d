// `zos container ID shell`: a program in a container of a remote node, interactive, with no
// sshd in the container — over the node's /zos/v1 API (POST /zos/v1/containers/{id}/exec with
// the admin token, the connection upgraded to a raw stream both ways, as docker's exec start).
// libcurl cannot hand a connection over after its head, so this is a small HTTP/1.1 client on a
// socket of its own: plain http:// only (a node's --zos listener has no TLS).
#pragma once

#include <string>
#include <vector>

#include "cli/zos_remote.hpp"
#include "common/error.hpp"

namespace tiffin::cli {

// Runs `cmd` in `container` on `node`. With a terminal on stdin the program gets one too, of
// this terminal's size (sent once, at the start), and this terminal is in raw mode until the
// program ends (restored on every way out); without, it gets pipes, docker's frames are split
// back into stdout and stderr, and stdin's end closes its stdin. Returns the program's exit code
// (the node keeps it: GET /zos/v1/exec/{id} after the stream ended).
// `name` is the node's, for messages.
Result<int> shell_on_node(
    const NodeEntry& node, const std::string& name, const std::string& container, const std::vector<std::string>& cmd);

}  // namespace tiffin::cli
