// A network namespace's byte counters as /proc/<pid>/net/dev shows them (the namespace of that
// process): what `tiffin stats` reports as NET I/O without a netlink socket per container.
#pragma once

#include <cstdint>
#include <string_view>

namespace tiffin::net {

struct NetIo {
  uint64_t rx_bytes = 0, tx_bytes = 0;
};

// Sums every interface but lo; lines that do not parse are skipped.
NetIo parse_net_dev(std::string_view text);

}  // namespace tiffin::net
