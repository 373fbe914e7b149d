#include "vm/flake_vm_protocol.hpp"

#include <gtest/gtest.h>

namespace tiffin::vm {
namespace {

std::string u32le(uint32_t v) { return {char(v & 0xff), char(v >> 8 & 0xff), char(v >> 16 & 0xff), char(v >> 24 & 0xff)}; }

TEST(FlakeVmProtocol, FramesSurviveAnySplitOfTheStream) {
  std::string stream = encode_frame(FrameType::stdout_data, "hello") + encode_frame(FrameType::stdin_eof, "") +
                       encode_frame(FrameType::stderr_data, std::string(100000, 'x'));
  for (size_t step : {size_t(1), size_t(3), size_t(4096), stream.size()}) {
    FrameReader r;
    std::vector<Frame> got;
    for (size_t i = 0; i < stream.size(); i += step) {
      r.feed(std::string_view(stream).substr(i, step));
      while (auto f = r.next().value()) got.push_back(*f);
    }
    ASSERT_EQ(got.size(), 3u) << step;
    EXPECT_EQ(got[0].type, FrameType::stdout_data);
    EXPECT_EQ(got[0].payload, "hello");
    EXPECT_EQ(got[1].type, FrameType::stdin_eof);
    EXPECT_EQ(got[1].payload, "");
    EXPECT_EQ(got[2].payload.size(), 100000u);
    EXPECT_EQ(r.pending(), 0u);
  }
}

TEST(FlakeVmProtocol, ATruncatedFrameStaysPending) {
  std::string f = encode_frame(FrameType::stdout_data, "abcdef");
  FrameReader r;
  r.feed(std::string_view(f).substr(0, f.size() - 2));
  EXPECT_FALSE(r.next().value());
  EXPECT_EQ(r.pending(), f.size() - 2);
}

TEST(FlakeVmProtocol, OversizedAndUnknownFramesAreRefusedBeforeBuffering) {
  FrameReader big;
  big.feed(u32le(kMaxFramePayload + 1) + char(FrameType::stdout_data));
  auto r = big.next();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::corrupt);
  EXPECT_NE(r.error().message.find("at most"), std::string::npos);

  FrameReader unknown;
  unknown.feed(u32le(0) + char(99));
  ASSERT_FALSE(unknown.next());
  FrameReader zero;
  zero.feed(u32le(0) + char(0));
  ASSERT_FALSE(zero.next());
}

TEST(FlakeVmProtocol, RequestRoundTrips) {
  FlakeRequest req{{"/bin/sh", "-c", "echo ünï"}, {"PATH=/bin", "EMPTY="}, "/tmp", 1000, 100, false};
  EXPECT_EQ(decode_request(encode_request(req)).value(), req);
  req.terminal = true;
  EXPECT_EQ(decode_request(encode_request(req)).value(), req);
}

TEST(FlakeVmProtocol, MalformedRequestsAreCorrupt) {
  FlakeRequest req{{"sh"}, {"A=b"}, "/", 0, 0, false};
  std::string good = encode_request(req);
  // Every truncation, and a trailing byte.
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(decode_request(good.substr(0, n))) << n;
  EXPECT_FALSE(decode_request(good + "x"));
  // No program, an empty one, a relative working directory, env without '=', a NUL in argv.
  EXPECT_FALSE(decode_request(encode_request({{}, {}, "/", 0, 0, false})));
  EXPECT_FALSE(decode_request(encode_request({{""}, {}, "/", 0, 0, false})));
  EXPECT_FALSE(decode_request(encode_request({{"sh"}, {}, "tmp", 0, 0, false})));
  EXPECT_FALSE(decode_request(encode_request({{"sh"}, {"NOEQUALS"}, "/", 0, 0, false})));
  EXPECT_FALSE(decode_request(encode_request({{std::string("a\0b", 3)}, {}, "/", 0, 0, false})));
  // A count far beyond what the payload holds is refused without allocating for it.
  std::string lie = u32le(0) + u32le(0) + '\0' + u32le(1) + "/" + u32le(0xffffffff);
  auto r = decode_request(lie);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, Errc::corrupt);
  // A terminal flag other than 0 or 1.
  std::string bad_flag = good;
  bad_flag[8] = 2;
  EXPECT_FALSE(decode_request(bad_flag));
}

TEST(FlakeVmProtocol, ExitErrorTimingAndSignalRoundTrip) {
  EXPECT_EQ(decode_exit(encode_exit({false, 42})).value(), (FlakeExit{false, 42}));
  EXPECT_EQ(decode_exit(encode_exit({true, 9})).value().exit_code(), 137);
  EXPECT_FALSE(decode_exit(encode_exit({false, 256})));
  EXPECT_FALSE(decode_exit(encode_exit({true, 0})));
  EXPECT_FALSE(decode_exit("\x01"));

  FlakeError e{127, "foo: not found in PATH"};
  EXPECT_EQ(decode_error_frame(encode_error_frame(e)).value(), e);
  EXPECT_EQ(to_error(e).kind, Errc::program_not_found);
  EXPECT_EQ(start_failure_exit_code(to_error(e)), 127);
  EXPECT_EQ(to_error({126, "x"}).kind, Errc::program_not_executable);
  EXPECT_EQ(to_error({125, "mount"}).kind, Errc::internal);
  // The guest's message reaches a terminal: escapes are defused, long ones cut.
  EXPECT_EQ(decode_error_frame(encode_error_frame({125, "a\x1b[2Jb"})).value().message, "a?[2Jb");
  EXPECT_EQ(decode_error_frame(encode_error_frame({125, std::string(10000, 'm')})).value().message.size(), kMaxErrorMessage);

  FlakeTiming t{"root", 123456789};
  EXPECT_EQ(decode_timing(encode_timing(t)).value(), t);
  EXPECT_FALSE(decode_timing(encode_timing({std::string(65, 'n'), 1})));

  EXPECT_EQ(decode_signal(encode_signal(2)).value(), 2);
  EXPECT_FALSE(decode_signal(encode_signal(0)));
  EXPECT_FALSE(decode_signal(encode_signal(65)));
  EXPECT_FALSE(decode_signal("\x02"));
}

}  // namespace
}  // namespace tiffin::vm
