// Unix stream sockets by path: what the shim's attach and console sockets, `tiffin attach`,
// `tiffin exec -t` and the runtime's --console-socket use. Paths longer than sun_path are
// refused (Errc::invalid_input); a failed connect keeps its errno (ENOENT, ECONNREFUSED).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin {

// Binds (replacing a stale socket file) with mode 0600 and listens; close-on-exec, and
// non-blocking when asked.
Result<UniqueFd> listen_unix(const std::string& path, bool nonblocking = false);
Result<UniqueFd> connect_unix(const std::string& path);

// One descriptor in an SCM_RIGHTS message with `name` as its data (runc's --console-socket
// contract: a container's pty master), and its receiving end (what conmon or the shim does).
Result<void> send_fd(int sock, int fd, const std::string& name);
// Several descriptors in one SCM_RIGHTS message with `data` (not empty): how much of `data` the
// message carried (the rest is the caller's to write).
Result<size_t> send_fds(int sock, std::span<const int> fds, std::string_view data);
Result<UniqueFd> receive_fd(int sock);

}  // namespace tiffin
