// tiffin-corex's command line, a subset of threefoldtech/corex's (Zero-OS runs it as
// `/corex --ipv6 -d 7 --interface eth0`):
//   -p, --port N            port (default 7681; 0: any free port, printed when listening)
//   -i, --interface NAME    listen on NAME's addresses only (default: loopback only, never all)
//   -6, --ipv6              also on NAME's IPv6 addresses
//   -c, --credential U:P    HTTP Basic credentials (besides or instead of the token)
//   -d, --debug N           log level (7: every request)
//   --ring-size BYTES       output kept per process for late attachers and logs (default 256 KiB)
//   [--] COMMAND…           a process to start at once
// The token comes from the environment (COREX_TOKEN), never from the command line, which any
// process of the container can read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "corex/auth.hpp"

namespace tiffin::corex {

inline constexpr uint16_t kDefaultPort = 7681;
inline constexpr const char* kTokenEnv = "COREX_TOKEN";

struct Options {
  uint16_t port = kDefaultPort;
  std::string interface;
  bool ipv6 = false;
  int debug = 0;
  Credentials credentials;
  size_t ring_bytes = 256 * 1024;
  std::vector<std::string> command;
  bool help = false, version = false;
};

// `token`: COREX_TOKEN's value ("" when unset). No credentials at all is invalid_input: coreX
// never serves without authentication.
Result<Options> parse_options(const std::vector<std::string>& args, const std::string& token);
const char* usage_text();

}  // namespace tiffin::corex
