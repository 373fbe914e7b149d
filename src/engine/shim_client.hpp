// The engine's side of the shim contract (shim/shim_protocol.hpp): launching a container's
// shim and talking to it. The engine links the protocol, never the shim itself.
#pragma once

#include <chrono>
#include <string>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "shim/shim_config.hpp"
#include "shim/shim_protocol.hpp"

namespace tiffin::engine {

class ShimConnection {
 public:
  // Errc::unavailable when no shim listens there (none, or it died).
  static Result<ShimConnection> connect(const std::string& socket_path);

  Result<void> send(const shim::Message& m);
  // The next message; Errc::unavailable when the shim closed the connection.
  Result<shim::Message> receive();
  // Sends a request and reads until its answer (output frames before it are dropped).
  template <class Reply>
  Result<Reply> call(const shim::Message& request);
  // Waits for a Done or Failed answer.
  Result<void> call_done(const shim::Message& request);

  int fd() const { return fd_.get(); }
  // Whether bytes already read wait in the buffer (poll on fd() would not see them).
  bool has_buffered() const { return buffer_.size() > offset_; }
  // The launcher's end of a new shim's ready pipe, held until Start was answered (the shim gives
  // up when it closes earlier).
  void hold_launch(UniqueFd ready) { launch_ = std::move(ready); }

 private:
  explicit ShimConnection(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
  UniqueFd launch_;
  std::string buffer_;
  size_t offset_ = 0;
};

// Starts `shim_binary config_path`: returns the ready pipe once the shim listens on its socket,
// or the error the shim reported (Errc::conflict when a shim of that container is alive).
// `secret_env_fd` (an env memfd, common/env_memfd.hpp) becomes the shim's fd 4.
Result<UniqueFd> launch_shim(const std::string& shim_binary, const std::string& config_path, int secret_env_fd = -1);

// The shim of the run directory `run_dir` (shim::ShimConfig::run_dir): whether one is alive (it
// holds the lock on shim.pid), connecting to it (one that is alive but not listening yet is
// starting: it is given a moment), and waiting for one on its way out (it answered Exited, or
// closed its socket) to be gone — on its process, up to `timeout`; false if it is still there.
bool shim_alive(const std::string& run_dir);
Result<ShimConnection> connect_shim(const std::string& run_dir);
bool wait_shim_exit(const std::string& run_dir, std::chrono::milliseconds timeout = std::chrono::seconds(10));

template <class Reply>
Result<Reply> ShimConnection::call(const shim::Message& request) {
  TRY(send(request));
  for (;;) {
    shim::Message m = TRY(receive());
    if (auto* r = std::get_if<Reply>(&m)) return std::move(*r);
    if (auto* f = std::get_if<shim::Failed>(&m)) return std::unexpected(f->error);
    if (std::holds_alternative<shim::Output>(m)) continue;
    return fail(Errc::internal, std::string("the shim answered ") + shim::message_name(m) + " to " + shim::message_name(request));
  }
}

}  // namespace tiffin::engine
