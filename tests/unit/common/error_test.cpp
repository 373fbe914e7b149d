#include "common/error.hpp"

#include <gtest/gtest.h>

namespace tiffin {
namespace {

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
