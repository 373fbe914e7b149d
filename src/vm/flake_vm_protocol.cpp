#include "vm/flake_vm_protocol.hpp"

#include <algorithm>

namespace tiffin::vm {

namespace {

// Bounds of a request: generous for a command line, small enough that a hostile peer cannot make
// either side allocate much (the frame's own bound caps the total anyway).
constexpr uint32_t kMaxStrings = 4096;
constexpr uint32_t kMaxString = 256 * 1024;

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

// Reads fields off a payload; every read is bounds-checked and the first failure sticks.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool u8(uint8_t& v) {
    if (s_.size() - pos_ < 1) return bad();
    v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool u32(uint32_t& v) {
    if (s_.size() - pos_ < 4) return bad();
    v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<uint8_t>(s_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return true;
  }
  bool u64(uint64_t& v) {
    if (s_.size() - pos_ < 8) return bad();
    v = 0;
    for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<uint8_t>(s_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return true;
  }
  bool str(std::string& v, uint32_t max) {
    uint32_t n = 0;
    if (!u32(n) || n > max || s_.size() - pos_ < n) return bad();
    v.assign(s_.substr(pos_, n));
    pos_ += n;
    if (v.find('\0') != std::string::npos) return bad();  // would be cut short by execve
    return true;
  }
  bool strings(std::vector<std::string>& v) {
    uint32_t n = 0;
    // Each string takes at least its 4-byte length, so a count the payload cannot hold is a lie.
    if (!u32(n) || n > kMaxStrings || n > (s_.size() - pos_) / 4) return bad();
    v.resize(n);
    for (auto& s : v)
      if (!str(s, kMaxString)) return false;
    return true;
  }
  bool done() const { return ok_ && pos_ == s_.size(); }

 private:
  bool bad() { return ok_ = false; }
  std::string_view s_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::unexpected<Error> malformed(const char* what) { return fail(Errc::corrupt, std::string("malformed ") + what + " frame"); }

}  // namespace

bool is_known_frame_type(uint8_t t) { return (t >= 1 && t <= 4) || (t >= 16 && t <= 20); }

std::string encode_frame(FrameType type, std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeader + payload.size());
  put_u32(out, static_cast<uint32_t>(payload.size()));
  out.push_back(static_cast<char>(type));
  out.append(payload);
  return out;
}

void FrameReader::feed(std::span<const uint8_t> data) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  buf_.append(reinterpret_cast<const char*>(data.data()), data.size());
}

Result<std::optional<Frame>> FrameReader::next() {
  if (pending() < kFrameHeader) return std::nullopt;
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len |= uint32_t(static_cast<uint8_t>(buf_[pos_ + i])) << (8 * i);
  auto type = static_cast<uint8_t>(buf_[pos_ + 4]);
  if (len > kMaxFramePayload)
    return fail(Errc::corrupt, "frame of " + std::to_string(len) + " bytes (at most " + std::to_string(kMaxFramePayload) + ")");
  if (!is_known_frame_type(type)) return fail(Errc::corrupt, "unknown frame type " + std::to_string(type));
  if (pending() < kFrameHeader + len) return std::nullopt;
  Frame f{static_cast<FrameType>(type), buf_.substr(pos_ + kFrameHeader, len)};
  pos_ += kFrameHeader + len;
  // Drop consumed bytes once they dominate, so a long stream does not grow the buffer.
  if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return f;
}

std::string encode_request(const FlakeRequest& r) {
  std::string out;
  put_u32(out, r.uid);
  put_u32(out, r.gid);
  out.push_back(r.terminal ? 1 : 0);
  put_string(out, r.workdir);
  put_u32(out, static_cast<uint32_t>(r.argv.size()));
  for (const auto& a : r.argv) put_string(out, a);
  put_u32(out, static_cast<uint32_t>(r.env.size()));
  for (const auto& e : r.env) put_string(out, e);
  return out;
}

Result<FlakeRequest> decode_request(std::string_view payload) {
  FlakeRequest r;
  Cursor c(payload);
  uint8_t terminal = 0;
  if (!c.u32(r.uid) || !c.u32(r.gid) || !c.u8(terminal) || terminal > 1 || !c.str(r.workdir, 4096) || !c.strings(r.argv) ||
      !c.strings(r.env) || !c.done())
    return malformed("run");
  r.terminal = terminal == 1;
  if (r.argv.empty() || r.argv[0].empty()) return fail(Errc::corrupt, "run frame without a program");
  if (!r.workdir.starts_with('/')) return fail(Errc::corrupt, "run frame: the working directory is not absolute");
  for (const auto& e : r.env)
    if (e.find('=') == std::string::npos) return fail(Errc::corrupt, "run frame: environment entry without '='");
  return r;
}

std::string encode_exit(const FlakeExit& e) {
  std::string out;
  out.push_back(e.signaled ? 1 : 0);
  put_u32(out, static_cast<uint32_t>(e.code));
  return out;
}

Result<FlakeExit> decode_exit(std::string_view payload) {
  Cursor c(payload);
  uint8_t signaled = 0;
  uint32_t code = 0;
  if (!c.u8(signaled) || signaled > 1 || !c.u32(code) || !c.done()) return malformed("exit");
  if (signaled ? (code < 1 || code > 64) : code > 255) return fail(Errc::corrupt, "exit frame out of range");
  return FlakeExit{signaled == 1, static_cast<int>(code)};
}

std::string encode_error_frame(const FlakeError& e) {
  std::string out;
  out.push_back(static_cast<char>(std::clamp(e.exit_code, 0, 255)));
  put_string(out, std::string_view(e.message).substr(0, kMaxErrorMessage));
  return out;
}

Result<FlakeError> decode_error_frame(std::string_view payload) {
  Cursor c(payload);
  uint8_t code = 0;
  FlakeError e;
  if (!c.u8(code) || !c.str(e.message, kMaxErrorMessage) || !c.done()) return malformed("error");
  e.exit_code = code;
  // The message goes to the user's terminal: no control characters from the guest.
  for (char& ch : e.message)
    if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) ch = '?';
  return e;
}

Error to_error(const FlakeError& e) {
  Errc kind = e.exit_code == 127 ? Errc::program_not_found : e.exit_code == 126 ? Errc::program_not_executable : Errc::internal;
  return Error{kind, 0, e.message};
}

std::string encode_timing(const FlakeTiming& t) {
  std::string out;
  put_u64(out, t.boottime_ns);
  put_string(out, t.name);
  return out;
}

Result<FlakeTiming> decode_timing(std::string_view payload) {
  Cursor c(payload);
  FlakeTiming t;
  if (!c.u64(t.boottime_ns) || !c.str(t.name, 64) || !c.done()) return malformed("timing");
  return t;
}

std::string encode_signal(int sig) {
  std::string out;
  put_u32(out, static_cast<uint32_t>(sig));
  return out;
}

Result<int> decode_signal(std::string_view payload) {
  Cursor c(payload);
  uint32_t sig = 0;
  if (!c.u32(sig) || !c.done() || sig < 1 || sig > 64) return malformed("signal");
  return static_cast<int>(sig);
}

}  // namespace tiffin::vm
