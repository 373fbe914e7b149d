// The contract between the engine and a container's shim (containerd's Task service is the
// model): typed messages over <run dir>/shim.sock (a unix stream socket, mode 0600, root only),
// encoded and decoded here and nowhere else.
//
// Frames: u8 type, u32 little-endian payload length, payload. Output and stdin carry raw bytes;
// the other payloads are Fields records (shim/fields.hpp).
//
// Requests (client → shim) and what answers them:
//   Attach{with_stdin} this connection receives the program's output (Output frames) and, with
//                      with_stdin, may send StdinData/StdinClose; Exited ends the session. No reply.
//   Resize{rows,cols}  the terminal's size; before Start it is applied to the pty before the
//                      program runs. No reply.
//   Start              creates and starts the container → Started{pid} | Failed{error}
//   Status             → StatusReply{status}
//   Stop{timeout_ms, signal}  the signal, then SIGKILL after the timeout; no restart follows
//                      → Exited{exit code} once stopped for good
//   Kill{signal}       → Done | Failed (SIGKILL is a stop: no restart follows)
//   Pause, Resume      → Done | Failed
//   Wait               → Exited{exit code} once the container stopped for good
// Every connection that attached or asked Stop/Wait gets Exited once the container stopped for
// good; then the shim exits. A connection that sends a frame no peer would send is dropped.
//
// The shim's start-up answer on its ready pipe (fd 3) is one frame: Done (listening) or
// Failed{error}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "common/error.hpp"
#include "shim/shim_status.hpp"

namespace tiffin::shim {

// client → shim
struct Attach {
  bool with_stdin = false;
  bool operator==(const Attach&) const = default;
};
struct StdinData {
  std::string data;
  bool operator==(const StdinData&) const = default;
};
struct StdinClose {
  bool operator==(const StdinClose&) const = default;
};
struct Resize {
  uint16_t rows = 0, cols = 0;
  bool operator==(const Resize&) const = default;
};
struct Start {
  bool operator==(const Start&) const = default;
};
struct StatusRequest {
  bool operator==(const StatusRequest&) const = default;
};
struct Stop {
  uint32_t timeout_ms = 10000;
  int signal = 15;  // SIGTERM
  bool operator==(const Stop&) const = default;
};
struct Kill {
  int signal = 9;
  bool operator==(const Kill&) const = default;
};
struct Pause {
  bool operator==(const Pause&) const = default;
};
struct Resume {
  bool operator==(const Resume&) const = default;
};
struct Wait {
  bool operator==(const Wait&) const = default;
};

// shim → client
struct Output {
  enum class Stream : uint8_t { out, err } stream = Stream::out;
  std::string data;
  bool operator==(const Output&) const = default;
};
struct Started {
  int pid = 0;
  bool operator==(const Started&) const = default;
};
struct StatusReply {
  ShimStatus status;
  bool operator==(const StatusReply&) const = default;
};
struct Exited {
  int exit_code = 0;
  bool operator==(const Exited&) const = default;
};
struct Done {
  bool operator==(const Done&) const = default;
};
struct Failed {
  Error error;
  bool operator==(const Failed&) const = default;
};

using Message = std::variant<Attach, StdinData, StdinClose, Resize, Start, StatusRequest, Stop, Kill, Pause, Resume, Wait, Output, Started,
    StatusReply, Exited, Done, Failed>;

inline constexpr size_t kFrameHeader = 5;
inline constexpr size_t kMaxFramePayload = 1 << 20;

std::string encode_message(const Message& m);
// Takes one message off the front of `buffer` (advancing `offset`) when it holds a whole one;
// Errc::corrupt for a frame no peer would send (unknown type, oversized, bad payload).
Result<std::optional<Message>> take_message(const std::string& buffer, size_t& offset);

// A name for messages in errors ("Start").
const char* message_name(const Message& m);

}  // namespace tiffin::shim
