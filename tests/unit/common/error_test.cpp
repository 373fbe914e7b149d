// Errors in their wire form (what crosses a pipe from a runtime's child, tiffin-oci, the shim
// or the lazy mount's daemon), docker's exit codes from kinds, and numbers parsed whole.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "common/text.hpp"

namespace tiffin {
namespace {

TEST(ErrorWire, EveryKindRoundTrips) {
  for (Errc k : {Errc::io, Errc::invalid_input, Errc::not_found, Errc::corrupt, Errc::conflict, Errc::denied, Errc::unavailable,
           Errc::unsupported, Errc::internal, Errc::program_not_found, Errc::program_not_executable}) {
    Error e{k, 13, "a: b\nc \\ d: é"};
    auto back = decode_error(encode_error(e));
    ASSERT_TRUE(back) << encode_error(e);
    EXPECT_EQ(*back, e);
    EXPECT_EQ(encode_error(e).find('\n'), std::string::npos) << "one line";
  }
}

TEST(ErrorWire, GarbageIsCorrupt) {
  for (std::string_view bad : {"", "io", "io:1", "io:x:m", "io:-1:m", "nonsense:1:m", "io:1:bad\\q", "io:1:a\nb", "io:1:end\\"}) {
    auto e = decode_error(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().kind, Errc::corrupt);
  }
}

TEST(ErrorWire, DockersExitCodesComeFromKinds) {
  EXPECT_EQ(start_failure_exit_code({Errc::program_not_found, ENOENT, "x"}), 127);
  EXPECT_EQ(start_failure_exit_code({Errc::program_not_executable, EACCES, "x"}), 126);
  // A missing bind source is ENOENT too, but it is the engine's failure, not the program's.
  EXPECT_EQ(start_failure_exit_code({Errc::not_found, ENOENT, "mount /data: source /nope: No such file or directory"}), 125);
  EXPECT_EQ(start_failure_exit_code({Errc::io, EPERM, "executable file not found"}), 125) << "the message is never read";
}

TEST(Numbers, ParsedWholeOrNotAtAll) {
  EXPECT_EQ(parse_uint<uint32_t>("4294967295"), 4294967295u);
  EXPECT_FALSE(parse_uint<uint32_t>("4294967296"));
  for (std::string_view bad : {"", "-1", "+1", " 1", "1 ", "12abc", "0x10", "abc"}) EXPECT_FALSE(parse_uint<uint32_t>(bad)) << bad;
  EXPECT_EQ(parse_uint<uint8_t>("ff", 16), 255);
  EXPECT_EQ(parse_int<int>("-42"), -42);
  EXPECT_FALSE(parse_int<int>("+42"));
  EXPECT_FALSE(parse_int<int>("4x"));
}

TEST(ErrorWire, RoundTripsKindErrnoAndMessage) {
  Error e{Errc::not_found, ENOENT, "opening a\\b:\nc: No such file"};
  auto back = decode_error(encode_error(e));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(*back, e);
}

TEST(ErrorWire, RefusesABadErrno) {
  for (const char* bad : {"io::m", "io:x:m", "io:-1:m", "io:+1:m", "io: 1:m", "io:1x:m", "io:99999999999:m"}) {
    auto r = decode_error(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, Errc::corrupt) << bad;
  }
}

}  // namespace
}  // namespace tiffin
