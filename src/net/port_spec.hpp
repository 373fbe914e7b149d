// docker's -p syntax: [hostip:][hostport[-end]:]ctrport[-end][/tcp|/udp]. A host port of 0 (or
// none given) asks for a free one the kernel picks; IPv6 host addresses are bracketed
// ("[::1]:8080:80").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "net/address.hpp"

namespace tiffin::net {

enum class Proto : uint8_t { tcp, udp };
const char* proto_name(Proto p);
Result<Proto> parse_proto(std::string_view text);

struct PortSpec {
  Proto proto = Proto::tcp;
  std::optional<IpAddress> host_ip;        // none: every address of the host
  uint16_t host_first = 0, host_last = 0;  // 0: any free port
  uint16_t ctr_first = 0, ctr_last = 0;
  bool operator==(const PortSpec&) const = default;
};

Result<PortSpec> parse_port_spec(std::string_view text);

// One published port: what the engine stores and turns into nftables map elements.
struct PublishedPort {
  Proto proto = Proto::tcp;
  std::optional<IpAddress> host_ip;
  uint16_t host_port = 0;  // 0 until a free one is picked
  uint16_t ctr_port = 0;
  bool operator==(const PublishedPort&) const = default;
};

// The ports of a spec, pairwise for equal ranges. A host range for one container port is
// docker's "any one of these": the first host port is put here and `pick_from` says the last
// one to try. Errc::invalid_input for ranges of different lengths.
struct ExpandedPorts {
  std::vector<PublishedPort> ports;
  uint16_t pick_until = 0;  // with one port whose host port may move up to this one
};
Result<ExpandedPorts> expand_port_spec(const PortSpec& spec);

// "0.0.0.0:8080->80/tcp" as docker's ps shows it.
std::string describe(const PublishedPort& p);

}  // namespace tiffin::net
