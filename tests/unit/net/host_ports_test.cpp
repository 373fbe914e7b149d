#include "net/host_ports.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fd.hpp"

namespace tiffin::net {
namespace {

// Tables as this (little-endian) kernel prints them: 127.0.0.1 is 0100007F, port 8080 is 1F90.
constexpr std::string_view kTcp4 =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0\n"
    "   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0\n"
    "   2: 0100007F:D92C 0100007F:1F90 06 00000000:00000000 03:00000D87 00000000     0        0 0 3 0\n"
    "   3: 0100007F:01BB 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0\n";

std::optional<IpAddress> ip(const char* s) { return *IpAddress::parse(s); }

TEST(HostPorts, ATcpListenerTakesItsPortAtItsAddressOrEveryAddress) {
  EXPECT_TRUE(socket_table_has_server(kTcp4, false, Proto::tcp, std::nullopt, 8080));
  EXPECT_TRUE(socket_table_has_server(kTcp4, false, Proto::tcp, ip("127.0.0.1"), 8080));
  EXPECT_FALSE(socket_table_has_server(kTcp4, false, Proto::tcp, ip("10.0.0.1"), 8080));
  // A wildcard listener takes port 80 at every address.
  EXPECT_TRUE(socket_table_has_server(kTcp4, false, Proto::tcp, ip("10.0.0.1"), 80));
}

TEST(HostPorts, ConnectionsAndTimeWaitDoNotTakeTheirLocalPort) {
  EXPECT_FALSE(socket_table_has_server(kTcp4, false, Proto::tcp, std::nullopt, 0xD92C));  // TIME_WAIT
  EXPECT_FALSE(socket_table_has_server(kTcp4, false, Proto::tcp, std::nullopt, 443));     // ESTABLISHED
}

TEST(HostPorts, UdpServersAreUnconnectedSockets) {
  constexpr std::string_view udp =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  10: 00000000:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0\n"
      "  11: 0100007F:A000 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 2 2 0 0\n";
  EXPECT_TRUE(socket_table_has_server(udp, false, Proto::udp, std::nullopt, 53));
  EXPECT_FALSE(socket_table_has_server(udp, false, Proto::udp, std::nullopt, 0xA000));
  EXPECT_FALSE(socket_table_has_server(udp, false, Proto::tcp, std::nullopt, 53));
}

TEST(HostPorts, Ipv6TablesAndMalformedLines) {
  // ::1 is four words 00000000 00000000 00000000 01000000; the second line is cut short.
  constexpr std::string_view tcp6 =
      "  sl  local_address                         remote_address                        st\n"
      "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0\n"
      "   1: 0000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 0\n"
      "garbage\n";
  EXPECT_TRUE(socket_table_has_server(tcp6, true, Proto::tcp, ip("::1"), 8080));
  EXPECT_FALSE(socket_table_has_server(tcp6, true, Proto::tcp, ip("fd00::1"), 8080));
  EXPECT_FALSE(socket_table_has_server(tcp6, true, Proto::tcp, std::nullopt, 8081));
  EXPECT_FALSE(socket_table_has_server("", false, Proto::tcp, std::nullopt, 8080));
}

// The live check: a listener is in use; the local port of an open outgoing connection is not.
TEST(HostPorts, LiveListenerAndClientPort) {
  UniqueFd srv(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(srv.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(srv.get(), 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(srv.get(), reinterpret_cast<sockaddr*>(&a), &len);
  UniqueFd cli(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_EQ(::connect(cli.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  sockaddr_in c{};
  len = sizeof c;
  ::getsockname(cli.get(), reinterpret_cast<sockaddr*>(&c), &len);

  EXPECT_FALSE(host_port_free({Proto::tcp, std::nullopt, ntohs(a.sin_port), 80}));
  EXPECT_FALSE(host_port_free({Proto::tcp, ip("127.0.0.1"), ntohs(a.sin_port), 80}));
  EXPECT_TRUE(host_port_free({Proto::tcp, std::nullopt, ntohs(c.sin_port), 80}));
}

}  // namespace
}  // namespace tiffin::net
