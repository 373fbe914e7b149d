#include "net/net_dev.hpp"

#include <sstream>
#include <string>

#include "common/text.hpp"

namespace tiffin::net {

NetIo parse_net_dev(std::string_view text) {
  // "  eth0: 1234 5 0 0 0 0 0 0 5678 6 ..." after two header lines: rx bytes first, tx bytes ninth.
  NetIo io;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name == "lo") continue;
    std::istringstream fields(line.substr(colon + 1));
    std::string f[9];
    for (auto& each : f) fields >> each;
    auto rx = parse_uint(f[0]), tx = parse_uint(f[8]);
    if (!rx || !tx) continue;
    io.rx_bytes += *rx;
    io.tx_bytes += *tx;
  }
  return io;
}

}  // namespace tiffin::net
