#include "engine/corex_mode.hpp"

#include <sys/random.h>

#include <array>

#include "common/hex.hpp"

namespace tiffin::engine {

std::vector<std::string> corex_args() { return {"/corex", "--ipv6", "-d", "7", "--interface", "eth0"}; }

Result<std::string> new_corex_token() {
  std::array<uint8_t, 32> bytes{};
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno("getrandom");
    got += static_cast<size_t>(n);
  }
  return to_hex(bytes);
}

std::string corex_token_env(const std::string& token) { return "COREX_TOKEN=" + token; }

bool has_corex_token(const std::vector<std::string>& env) {
  for (const auto& e : env)
    if (e.starts_with("COREX_TOKEN=")) return true;
  return false;
}

Result<std::vector<std::string>> corex_urls(Engine& e, const ContainerInfo& c) {
  std::vector<std::string> out;
  if (!c.config.corex) return out;
  for (const auto& ep : TRY(e.container_endpoints(c.id))) {
    out.push_back("http://" + ep.ip.str() + ":" + std::to_string(kCorexPort) + "/");
    if (ep.ip6) out.push_back("http://[" + ep.ip6->str() + "]:" + std::to_string(kCorexPort) + "/");
  }
  for (const auto& p : TRY(e.container_ports(c.id))) {
    if (p.ctr_port != kCorexPort || p.proto != net::Proto::tcp) continue;
    std::string host = p.host_ip ? p.host_ip->str() : "127.0.0.1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    out.push_back("http://" + host + ":" + std::to_string(p.host_port) + "/");
  }
  return out;
}

}  // namespace tiffin::engine
