// The engine↔shim contract: every message, the shim's config and status records, the record
// codec underneath, and frames that no peer would send.
#include <gtest/gtest.h>

#include "shim/fields.hpp"
#include "shim/shim_config.hpp"
#include "shim/shim_protocol.hpp"
#include "shim/shim_status.hpp"
#include "shim/stats_record.hpp"

namespace tiffin::shim {
namespace {

std::vector<Message> every_message() {
  ShimStatus st;
  st.status = ContainerStatus::restarting;
  st.pid = 42;
  st.exit_code = 3;
  st.restart_count = 2;
  st.started_at = "2026-11-29T10:00:00.000000001Z";
  st.error = Error{Errc::program_not_found, 2, "exec: \"nope\": executable file not found in $PATH"};
  return {Attach{true}, StdinData{std::string("a\0b\nc\\", 6)}, StdinClose{}, Resize{24, 80}, Start{}, StatusRequest{}, Stop{2500, 15},
      Kill{9}, Pause{}, Resume{}, Wait{}, Output{Output::Stream::err, std::string(70000, 'x')}, Started{1234}, StatusReply{st}, Exited{137},
      Done{}, Failed{Error{Errc::conflict, 0, "line one\nline two: a \\ backslash"}}};
}

TEST(ShimProtocol, EveryMessageRoundTripsWhateverTheReadsCutItInto) {
  std::string wire;
  for (const auto& m : every_message()) wire += encode_message(m);
  for (size_t chunk : {size_t(1), size_t(7), size_t(4096), wire.size()}) {
    std::string buffer;
    size_t offset = 0;
    std::vector<Message> got;
    for (size_t pos = 0; pos < wire.size(); pos += chunk) {
      buffer.append(wire, pos, chunk);
      for (;;) {
        auto m = take_message(buffer, offset);
        ASSERT_TRUE(m) << m.error().message;
        if (!*m) break;
        got.push_back(std::move(**m));
      }
    }
    EXPECT_EQ(offset, wire.size());
    EXPECT_EQ(got, every_message()) << "chunks of " << chunk;
  }
}

TEST(ShimProtocol, FramesNoPeerWouldSendAreRefused) {
  auto refused = [](std::string frame) {
    size_t offset = 0;
    auto m = take_message(frame, offset);
    return !m && m.error().kind == Errc::corrupt && offset == 0;
  };
  auto frame = [](uint8_t type, std::string payload) {
    std::string f(1, static_cast<char>(type));
    uint32_t n = static_cast<uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) f += static_cast<char>((n >> (8 * i)) & 0xff);
    return f + payload;
  };
  EXPECT_TRUE(refused(frame(200, "")));                            // unknown type
  EXPECT_TRUE(refused(std::string("\x01\xff\xff\xff\x7f", 5)));    // oversized
  EXPECT_TRUE(refused(frame(5, "x")));                             // Start carries nothing
  EXPECT_TRUE(refused(frame(4, "rows=70000\ncols=1\n")));          // Resize out of range
  EXPECT_TRUE(refused(frame(4, "rows=1\ncols=1\ncolour=red\n")));  // unknown key
  EXPECT_TRUE(refused(frame(7, "timeout_ms=-1\nsignal=15\n")));    // negative timeout
  EXPECT_TRUE(refused(frame(8, "signal=0\n")));                    // no such signal
  EXPECT_TRUE(refused(frame(66, "pid=0\n")));                      // Started without a pid
  EXPECT_TRUE(refused(frame(70, "error=bogus:1:x\n")));            // unknown error kind
  EXPECT_TRUE(refused(frame(1, "stdin=maybe\n")));                 // not a flag
  // Half a frame is no error: more bytes will come.
  std::string half = encode_message(Exited{1}).substr(0, 7);
  size_t offset = 0;
  auto m = take_message(half, offset);
  ASSERT_TRUE(m);
  EXPECT_FALSE(*m);
}

TEST(ShimStatus, RecordsRoundTripAndToleratesNewerKeys) {
  ShimStatus s;
  s.status = ContainerStatus::exited;
  s.exit_code = 127;
  s.finished_at = "2026-11-29T10:00:01Z";
  s.error = Error{Errc::program_not_found, 2, "no such program"};
  auto back = decode_status(encode_status(s));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, s);
  EXPECT_TRUE(decode_status(encode_status(s) + "written_by=tiffin 9\n")) << "a newer shim's extra keys";
  s.health = {"unhealthy", 3, {{"2026-11-29T10:00:00Z", "2026-11-29T10:00:01Z", 1, "line one\nline\\two"}, {"a", "b", -1, ""}}};
  back = decode_status(encode_status(s));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s) << "the health log round-trips, output with newlines and backslashes";
  EXPECT_FALSE(decode_status(encode_status(s) + "probe_start=x\n")) << "probe fields that do not pair up";
  EXPECT_FALSE(decode_status("status=sleeping\n"));
  EXPECT_FALSE(decode_status("pid=3\n")) << "status is required";
  EXPECT_FALSE(decode_status("status=running\npid=x\n"));
  EXPECT_TRUE(is_active(ContainerStatus::paused));
  EXPECT_TRUE(is_active(ContainerStatus::restarting));
  EXPECT_FALSE(is_active(ContainerStatus::created));
  EXPECT_FALSE(is_active(ContainerStatus::exited));
  for (auto st :
      {ContainerStatus::created, ContainerStatus::running, ContainerStatus::paused, ContainerStatus::restarting, ContainerStatus::exited})
    EXPECT_EQ(parse_status(status_name(st)), st);
}

TEST(ShimConfig, RoundTripAndStrictness) {
  ShimConfig c;
  c.id = "abc";
  c.bundle = "/b";
  c.runtime = "/usr/bin/tiffin-oci";
  c.runtime_root = "/r";
  c.state_dir = "/s";
  c.run_dir = "/run/x";
  c.tty = true;
  c.log_max_bytes = 123;
  c.stats_redis = "redis://h/c";
  c.auto_remove = true;
  c.secret_env = true;
  c.teardown_unmount = {"/s/rootfs", "/odd\npath\\"};
  c.teardown_remove = {"/s"};
  c.health = {{"/bin/sh", "-c", "curl -f localhost || exit 1"}, std::chrono::milliseconds(1500), std::chrono::milliseconds(700),
      std::chrono::milliseconds(0), std::chrono::milliseconds(100), 5};
  auto back = decode_config(encode_config(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  EXPECT_FALSE(decode_config("id=x\n")) << "required keys";
  auto unknown = decode_config(encode_config(c) + "bogus=1\n");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, Errc::invalid_input);
  EXPECT_FALSE(decode_config(encode_config(c) + "tty=yes\n"));
  EXPECT_FALSE(decode_config(encode_config(c) + "log_max_bytes=12abc\n"));
}

TEST(Fields, EscapesAndMalformedLines) {
  Fields f;
  f.add("a", std::string("x\ny\\z")).add("b", "").add("a", "2");
  auto back = decode_fields(encode_fields(f));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->items(), f.items());
  EXPECT_FALSE(decode_fields("no equals sign\n"));
  EXPECT_FALSE(decode_fields("=value\n"));
  EXPECT_FALSE(decode_fields("k=bad\\escape\n"));
  EXPECT_FALSE(decode_fields("k=trailing\\\n"));
}

TEST(StatsRecord, ZeroOsShape) {
  runtime::CgroupStats s{1, 2, 3, 4, 5};
  EXPECT_EQ(stats_json(s, 1700000000),
      "{\"timestamp\":1700000000,\"memory_usage\":1,\"memory_limit\":2,\"memory_cache\":3,\"cpu_usage\":4,"
      "\"pids_current\":5}");
}

}  // namespace
}  // namespace tiffin::shim
