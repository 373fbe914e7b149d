// Kernel parameters through /proc/sys: ip_forward, route_localnet on a bridge (so 127.0.0.1 can
// be DNATed to a container), disable_ipv6 on a link. Keys are paths under /proc/sys
// ("net/ipv4/ip_forward"). The net/ part of /proc/sys shows the network namespace of the thread
// that opens the file, so these act on a namespace when called inside run_in_netns().
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tiffin::net {

// Writes `value` to /proc/sys/<key>. Errc::not_found when the key does not exist (a link that is
// gone, a feature the kernel lacks); Errc::invalid_input for a key that leaves /proc/sys.
Result<void> write_sysctl(std::string_view key, std::string_view value);
// The value of /proc/sys/<key> without its trailing newline.
Result<std::string> read_sysctl(std::string_view key);

}  // namespace tiffin::net
