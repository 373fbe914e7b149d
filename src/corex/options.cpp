#include "corex/options.hpp"

#include "common/text.hpp"

namespace tiffin::corex {

const char* usage_text() {
  return "usage: tiffin-corex [-p PORT] [-i|--interface NAME] [-6|--ipv6] [-c USER:PASS] [-d LEVEL]\n"
         "                    [--ring-size BYTES] [[--] COMMAND [ARG...]]\n"
         "coreX: a process manager with web terminals (HTTP and WebSocket on port 7681).\n"
         "The token is read from $COREX_TOKEN; without it, -c USER:PASS is required.\n"
         "Without --interface it listens on loopback only.\n";
}

Result<Options> parse_options(const std::vector<std::string>& args, const std::string& token) {
  Options o;
  o.credentials.token = token;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> Result<std::string> {
      if (i + 1 >= args.size()) return fail(Errc::invalid_input, a + " needs a value");
      return args[++i];
    };
    if (a == "--") {
      o.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "-v" || a == "--version") {
      o.version = true;
    } else if (a == "-6" || a == "--ipv6") {
      o.ipv6 = true;
    } else if (a == "-p" || a == "--port") {
      std::string v = TRY(value());
      auto port = parse_uint<uint16_t>(v);
      if (!port) return fail(Errc::invalid_input, "--port: '" + v + "' is not a port number");
      o.port = *port;
    } else if (a == "-i" || a == "--interface") {
      o.interface = TRY(value());
      if (o.interface.empty() || o.interface.size() > 15 || o.interface.find('/') != std::string::npos)
        return fail(Errc::invalid_input, "--interface: '" + o.interface + "' is not an interface name");
    } else if (a == "-d" || a == "--debug") {
      std::string v = TRY(value());
      auto level = parse_uint<uint8_t>(v);
      if (!level) return fail(Errc::invalid_input, "--debug: '" + v + "' is not a level");
      o.debug = *level;
    } else if (a == "-c" || a == "--credential") {
      std::string v = TRY(value());
      size_t colon = v.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == v.size())
        return fail(Errc::invalid_input, "--credential: expected USER:PASSWORD");
      o.credentials.basic_user = v.substr(0, colon);
      o.credentials.basic_password = v.substr(colon + 1);
    } else if (a == "--ring-size") {
      std::string v = TRY(value());
      auto n = parse_uint<size_t>(v);
      if (!n || *n < 1024 || *n > (size_t(64) << 20)) return fail(Errc::invalid_input, "--ring-size: 1024 to 67108864 bytes");
      o.ring_bytes = *n;
    } else if (a.starts_with("-")) {
      return fail(Errc::invalid_input, "unknown option " + a);
    } else {
      o.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
  }
  if (!o.help && !o.version && !o.credentials.any())
    return fail(Errc::invalid_input,
        std::string("no credentials: set ") + kTokenEnv + " or give -c USER:PASSWORD (coreX never serves without authentication)");
  return o;
}

}  // namespace tiffin::corex
