// Sysctls through /proc/sys, checked to act on the namespace of the thread that writes them.
#include "net/sysctl.hpp"

#include <gtest/gtest.h>

#include "net/netns.hpp"
#include "net/scratch_netns.hpp"

namespace tiffin::net {
namespace {

using test::ScratchNetns;

TEST(Sysctl, ActsOnTheCallingThreadsNamespace) {
  REQUIRE_ROOT();
  ScratchNetns ns;
  ASSERT_TRUE(ns.ok());
  auto host_value = read_sysctl("net/ipv4/ip_forward");
  ASSERT_TRUE(host_value) << host_value.error().message;
  std::string other = *host_value == "1" ? "0" : "1";
  std::string inside;
  ASSERT_TRUE(run_in_netns(ns.path(), [&]() -> Result<void> {
    TRY(write_sysctl("net/ipv4/ip_forward", other));
    inside = TRY(read_sysctl("net/ipv4/ip_forward"));
    return {};
  }));
  EXPECT_EQ(inside, other);
  EXPECT_EQ(*read_sysctl("net/ipv4/ip_forward"), *host_value);
  // A link's own keys exist only where the link does.
  ASSERT_TRUE(ns.nl().create_bridge("tfbr9"));
  ASSERT_TRUE(run_in_netns(ns.path(), [] { return write_sysctl("net/ipv4/conf/tfbr9/route_localnet", "1"); }));
  ASSERT_TRUE(run_in_netns(ns.path(), [] { return write_sysctl("net/ipv6/conf/tfbr9/disable_ipv6", "1"); }));
  auto missing = write_sysctl("net/ipv4/conf/tfbr9/route_localnet", "1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, Errc::not_found);
  EXPECT_NE(missing.error().message.find("net/ipv4/conf/tfbr9/route_localnet"), std::string::npos);
}

TEST(Sysctl, RefusesKeysOutsideProcSys) {
  for (const char* bad : {"", "/etc/passwd", "net/../../etc/passwd", "net//ipv4", "net/ipv4/", "."}) {
    auto r = write_sysctl(bad, "1");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, Errc::invalid_input) << bad;
  }
}

}  // namespace
}  // namespace tiffin::net
