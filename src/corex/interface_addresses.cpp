#include "corex/interface_addresses.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cstring>

namespace tiffin::corex {

namespace ip = boost::asio::ip;

Result<std::vector<ip::address>> interface_addresses(const std::string& name, bool ipv6) {
  if (::if_nametoindex(name.c_str()) == 0) return fail(Errc::not_found, "no interface " + name);
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return fail_errno("listing the interfaces' addresses");
  std::vector<ip::address> v4, v6;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || name != i->ifa_name) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &sin->sin_addr, 4);
      v4.emplace_back(ip::address_v4(b));
    } else if (ipv6 && i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      v6.emplace_back(ip::address_v6(b, sin6->sin6_scope_id));
    }
  }
  ::freeifaddrs(list);
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

}  // namespace tiffin::corex
