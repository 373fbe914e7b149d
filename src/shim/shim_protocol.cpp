#include "shim/shim_protocol.hpp"

#include "shim/fields.hpp"

namespace tiffin::shim {
namespace {

// Wire types; never renumber (a CLI and a shim of different builds may meet after an upgrade).
enum class Type : uint8_t {
  attach = 1,
  stdin_data = 2,
  stdin_close = 3,
  resize = 4,
  start = 5,
  status = 6,
  stop = 7,
  kill = 8,
  pause = 9,
  resume = 10,
  wait = 11,
  stdout_data = 64,
  stderr_data = 65,
  started = 66,
  status_reply = 67,
  exited = 68,
  done = 69,
  failed = 70,
};

std::string frame(Type type, std::string_view payload) {
  std::string out;
  out.reserve(kFrameHeader + payload.size());
  out += static_cast<char>(type);
  uint32_t n = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
  out.append(payload);
  return out;
}

std::string frame(Type type, const Fields& f) { return frame(type, encode_fields(f)); }

struct Encoder {
  std::string operator()(const Attach& m) { return frame(Type::attach, Fields().add("stdin", m.with_stdin)); }
  std::string operator()(const StdinData& m) { return frame(Type::stdin_data, m.data); }
  std::string operator()(const StdinClose&) { return frame(Type::stdin_close, ""); }
  std::string operator()(const Resize& m) {
    return frame(Type::resize, Fields().add("rows", unsigned{m.rows}).add("cols", unsigned{m.cols}));
  }
  std::string operator()(const Start&) { return frame(Type::start, ""); }
  std::string operator()(const StatusRequest&) { return frame(Type::status, ""); }
  std::string operator()(const Stop& m) {
    return frame(Type::stop, Fields().add("timeout_ms", unsigned{m.timeout_ms}).add("signal", m.signal));
  }
  std::string operator()(const Kill& m) { return frame(Type::kill, Fields().add("signal", m.signal)); }
  std::string operator()(const Pause&) { return frame(Type::pause, ""); }
  std::string operator()(const Resume&) { return frame(Type::resume, ""); }
  std::string operator()(const Wait&) { return frame(Type::wait, ""); }
  std::string operator()(const Output& m) { return frame(m.stream == Output::Stream::out ? Type::stdout_data : Type::stderr_data, m.data); }
  std::string operator()(const Started& m) { return frame(Type::started, Fields().add("pid", m.pid)); }
  std::string operator()(const StatusReply& m) { return frame(Type::status_reply, encode_status(m.status)); }
  std::string operator()(const Exited& m) { return frame(Type::exited, Fields().add("exit_code", m.exit_code)); }
  std::string operator()(const Done&) { return frame(Type::done, ""); }
  std::string operator()(const Failed& m) { return frame(Type::failed, Fields().add("error", encode_error(m.error))); }
};

Result<Message> decode_payload(Type type, std::string payload) {
  auto empty = [&](Message m) -> Result<Message> {
    if (!payload.empty()) return fail(Errc::corrupt, std::string(message_name(m)) + " carries no payload");
    return m;
  };
  auto fields = [&](const char* what) -> Result<Fields> {
    auto f = decode_fields(payload);
    if (!f) return std::unexpected(std::move(f).error().context(what));
    return f;
  };
  auto signal_of = [](FieldReader& r) { return static_cast<int>(r.integer("signal", -1)); };
  switch (type) {
    case Type::attach: {
      Fields f = TRY(fields("Attach"));
      FieldReader r(f, "Attach");
      Attach m{r.flag("stdin")};
      TRY(r.finish());
      return m;
    }
    case Type::stdin_data: return StdinData{std::move(payload)};
    case Type::stdin_close: return empty(StdinClose{});
    case Type::resize: {
      Fields f = TRY(fields("Resize"));
      FieldReader r(f, "Resize");
      uint64_t rows = r.unsigned_integer("rows"), cols = r.unsigned_integer("cols");
      TRY(r.finish());
      if (rows > 0xffff || cols > 0xffff) return fail(Errc::corrupt, "Resize: size out of range");
      return Resize{static_cast<uint16_t>(rows), static_cast<uint16_t>(cols)};
    }
    case Type::start: return empty(Start{});
    case Type::status: return empty(StatusRequest{});
    case Type::stop: {
      Fields f = TRY(fields("Stop"));
      FieldReader r(f, "Stop");
      uint64_t timeout = r.unsigned_integer("timeout_ms");
      int sig = signal_of(r);
      TRY(r.finish());
      if (timeout > 0xffffffffu || sig <= 0 || sig >= 65) return fail(Errc::corrupt, "Stop: bad timeout or signal");
      return Stop{static_cast<uint32_t>(timeout), sig};
    }
    case Type::kill: {
      Fields f = TRY(fields("Kill"));
      FieldReader r(f, "Kill");
      int sig = signal_of(r);
      TRY(r.finish());
      if (sig <= 0 || sig >= 65) return fail(Errc::corrupt, "Kill: bad signal");
      return Kill{sig};
    }
    case Type::pause: return empty(Pause{});
    case Type::resume: return empty(Resume{});
    case Type::wait: return empty(Wait{});
    case Type::stdout_data: return Output{Output::Stream::out, std::move(payload)};
    case Type::stderr_data: return Output{Output::Stream::err, std::move(payload)};
    case Type::started: {
      Fields f = TRY(fields("Started"));
      FieldReader r(f, "Started");
      int pid = static_cast<int>(r.integer("pid"));
      TRY(r.finish());
      if (pid <= 0) return fail(Errc::corrupt, "Started: bad pid");
      return Started{pid};
    }
    case Type::status_reply: return StatusReply{TRY(decode_status(payload))};
    case Type::exited: {
      Fields f = TRY(fields("Exited"));
      FieldReader r(f, "Exited");
      int code = static_cast<int>(r.integer("exit_code"));
      TRY(r.finish());
      return Exited{code};
    }
    case Type::done: return empty(Done{});
    case Type::failed: {
      Fields f = TRY(fields("Failed"));
      FieldReader r(f, "Failed");
      std::string error = r.required("error");
      TRY(r.finish());
      return Failed{TRY(decode_error(error))};
    }
  }
  return fail(Errc::corrupt, "unknown message type " + std::to_string(static_cast<int>(type)));
}

}  // namespace

std::string encode_message(const Message& m) { return std::visit(Encoder{}, m); }

Result<std::optional<Message>> take_message(const std::string& buffer, size_t& offset) {
  if (buffer.size() - offset < kFrameHeader) return std::optional<Message>{};
  const char* p = buffer.data() + offset;
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n |= static_cast<uint32_t>(static_cast<uint8_t>(p[1 + i])) << (8 * i);
  if (n > kMaxFramePayload) return fail(Errc::corrupt, "shim protocol: a frame of " + std::to_string(n) + " bytes");
  if (buffer.size() - offset < kFrameHeader + n) return std::optional<Message>{};
  auto type = static_cast<Type>(static_cast<uint8_t>(p[0]));
  auto m = decode_payload(type, std::string(p + kFrameHeader, n));
  if (!m) return std::unexpected(std::move(m).error().context("shim protocol"));
  offset += kFrameHeader + n;
  return std::optional<Message>{std::move(*m)};
}

const char* message_name(const Message& m) {
  static constexpr const char* kNames[] = {"Attach", "StdinData", "StdinClose", "Resize", "Start", "Status", "Stop", "Kill", "Pause",
      "Resume", "Wait", "Output", "Started", "StatusReply", "Exited", "Done", "Failed"};
  static_assert(std::size(kNames) == std::variant_size_v<Message>);
  return kNames[m.index()];
}

}  // namespace tiffin::shim
