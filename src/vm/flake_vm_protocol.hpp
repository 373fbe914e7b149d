// The wire between a flake's launcher (vm/flake_vm, on the host) and its microVM's init
// (vm/guest_init, in the guest): frames on one virtio-serial port. Pure, so both sides and the
// tests share one definition.
//
// A frame is a 5-byte header, the payload's length (u32, little-endian) and its type (u8), then
// the payload. The guest is not trusted: a reader refuses lengths over kMaxFramePayload before it
// buffers anything, unknown types, and payloads that do not decode exactly (Errc::corrupt), so a
// hostile guest costs the host at most one frame's memory and a clear error.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::vm {

inline constexpr size_t kFrameHeader = 5;
// Data chunks are cut well below this; a run request (argv and env) must fit in it.
inline constexpr uint32_t kMaxFramePayload = 1u << 20;
inline constexpr size_t kMaxDataChunk = 64 * 1024;
// The virtio-serial port's name (qemu's virtserialport name=…), which the guest finds in
// /sys/class/virtio-ports/*/name.
inline constexpr std::string_view kFlakePortName = "tiffin.flake";

enum class FrameType : uint8_t {
  // host → guest
  run = 1,         // FlakeRequest, once, first
  stdin_data = 2,  // bytes for the app's stdin
  stdin_eof = 3,   // the app's stdin ends (empty payload)
  signal = 4,      // u32: a signal number to deliver to the app
  // guest → host
  stdout_data = 16,
  stderr_data = 17,
  exit = 18,    // FlakeExit
  error = 19,   // FlakeError: the init failed; the app did not run (or was not found)
  timing = 20,  // FlakeTiming: where the init is, for boot measurements
};
bool is_known_frame_type(uint8_t t);

struct Frame {
  FrameType type{};
  std::string payload;
};

// The header and payload of one frame; payloads over kMaxFramePayload are the caller's bug.
std::string encode_frame(FrameType type, std::string_view payload);

// Frames out of a byte stream that arrives in pieces of any size.
class FrameReader {
 public:
  void feed(std::span<const uint8_t> data);
  void feed(std::string_view data) { feed({reinterpret_cast<const uint8_t*>(data.data()), data.size()}); }
  // The next whole frame, nullopt while one is incomplete; Errc::corrupt for an oversized length
  // or an unknown type (the stream cannot be resynchronised after that: stop reading it).
  Result<std::optional<Frame>> next();
  // Bytes of an incomplete frame held (at the end of a stream: a truncated frame).
  size_t pending() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
};

// What to run, and as whom.
struct FlakeRequest {
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in env's PATH
  std::vector<std::string> env;   // KEY=value
  std::string workdir = "/";
  uint32_t uid = 0, gid = 0;
  // The app gets a terminal (not yet: the init refuses it); pipes otherwise.
  bool terminal = false;
  bool operator==(const FlakeRequest&) const = default;
};
std::string encode_request(const FlakeRequest& r);
// Errc::corrupt on anything malformed: short, trailing bytes, an empty argv, counts or strings
// over their bounds, NULs in strings.
Result<FlakeRequest> decode_request(std::string_view payload);

// How the app ended: its exit code, or the signal that killed it.
struct FlakeExit {
  bool signaled = false;
  int code = 0;  // exit status 0–255, or the signal number
  // The shell's convention, which the launcher exits with: code, or 128 + signal.
  int exit_code() const { return signaled ? 128 + code : code; }
  bool operator==(const FlakeExit&) const = default;
};
std::string encode_exit(const FlakeExit& e);
Result<FlakeExit> decode_exit(std::string_view payload);

// The init's own failure. `exit_code` says what kind: 127 the app does not exist, 126 it cannot
// be executed, anything else the init itself failed (a module, a mount, the request).
struct FlakeError {
  int exit_code = 125;
  std::string message;
  bool operator==(const FlakeError&) const = default;
};
inline constexpr size_t kMaxErrorMessage = 4096;
std::string encode_error_frame(const FlakeError& e);
Result<FlakeError> decode_error_frame(std::string_view payload);
// The host's error for it: program_not_found (127), program_not_executable (126), else internal,
// so the launcher maps it to its exit code with start_failure_exit_code.
Error to_error(const FlakeError& e);

// A point in the guest's boot: a short name ("init", "modules", "root", "exec", "exited") and
// the guest's CLOCK_BOOTTIME in nanoseconds (time since the kernel started).
struct FlakeTiming {
  std::string name;
  uint64_t boottime_ns = 0;
  bool operator==(const FlakeTiming&) const = default;
};
std::string encode_timing(const FlakeTiming& t);
Result<FlakeTiming> decode_timing(std::string_view payload);

std::string encode_signal(int sig);
// 1–64 only.
Result<int> decode_signal(std::string_view payload);

}  // namespace tiffin::vm
