// The /etc/hosts, /etc/resolv.conf and /etc/hostname a container on a network gets (bind-mounted
// from its directory, never written into the image), and reading the host's resolv.conf.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tiffin::net {

struct HostsEntry {
  std::string address;
  std::vector<std::string> names;
};

// localhost lines, then the container's own addresses under its hostname (127.0.1.1 when it has
// none), then `extra` (--add-host) in order.
std::string hosts_file(const std::string& hostname, const std::vector<std::string>& own_addresses, const std::vector<HostsEntry>& extra);

struct ResolvConf {
  std::vector<std::string> nameservers, search, options;
};
std::string format_resolv_conf(const ResolvConf& r);
// nameserver/search/domain/options lines of a resolv.conf; the rest is ignored.
ResolvConf parse_resolv_conf(std::string_view text);

}  // namespace tiffin::net
