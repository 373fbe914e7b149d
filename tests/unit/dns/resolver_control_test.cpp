#include "dns/resolver_control.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace tiffin::dns {
namespace {

TEST(ResolverControl, LockTellsLiveFromDead) {
  char tmpl[] = "/tmp/tiffin-dns-lock-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  EXPECT_FALSE(resolver_alive(dir));  // no file at all
  {
    auto lock = take_resolver_lock(dir);
    ASSERT_TRUE(lock) << lock.error().message;
    EXPECT_TRUE(resolver_alive(dir));
    // A second taker (another open file description) is refused while the first lives.
    auto second = take_resolver_lock(dir);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().kind, Errc::conflict);
  }
  // Closed (as when the process dies, even by kill -9): the file stays, the lock is gone.
  EXPECT_TRUE(std::filesystem::exists(resolver_lock_path(dir)));
  EXPECT_FALSE(resolver_alive(dir));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tiffin::dns
