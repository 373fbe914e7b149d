// tiffin-full's half of the Zero-OS network verbs (network.cpp has the verbs): WireGuard keys
// and the NetResource JSON, which need libsodium (zos/net_resource.hpp).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "common/fd.hpp"
#include "zos/net_resource.hpp"

namespace tiffin::cli {
namespace {

Result<nlohmann::json> read_json_file(const std::string& path) {
  auto bytes = TRY(read_file(path, 4 << 20));
  auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded()) return fail(Errc::invalid_input, path + ": not valid JSON");
  return j;
}

// --wg-private-key-file: the key's base64, from a file or standard input, without its newline.
Result<std::string> read_key_file(const std::string& path) {
  std::string text;
  if (path == "-") {
    char buf[256];
    ssize_t n;
    while ((n = ::read(0, buf, sizeof buf)) > 0 && text.size() < 4096) text.append(buf, static_cast<size_t>(n));
  } else {
    auto bytes = TRY(read_file(path, 4096));
    text.assign(bytes.begin(), bytes.end());
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

Result<net::ZosNetworkSpec> read_spec(const ZosNetworkArgs& a) {
  if (!a.private_key_file.empty() && !a.private_key.empty())
    return fail(Errc::invalid_input, "--wg-private-key or --wg-private-key-file, not both");
  if (!a.config.empty()) {
    if (!a.peers.empty() || !a.private_key.empty() || !a.private_key_file.empty() || a.listen_port >= 0 || !a.ip_range.empty() ||
        !a.subnet.empty())
      return fail(Errc::invalid_input, "--config gives the whole resource: no --peer, --wg-*, --ip-range or --subnet with it");
    return TRY_CTX(zos::parse_net_resource(TRY(read_json_file(a.config)), a.name), a.config);
  }
  if (a.name.empty()) return fail(Errc::invalid_input, "network create: a name is required");
  if (a.ip_range.empty() || a.subnet.empty())
    return fail(Errc::invalid_input, "--driver zos needs --ip-range (the network's /16) and --subnet (this node's /24)");
  net::ZosNetworkSpec spec;
  spec.name = a.name;
  spec.net_id = a.net_id.empty() ? a.name : a.net_id;
  spec.ip_range = TRY_CTX(net::Cidr::parse(a.ip_range, true), "--ip-range");
  spec.subnet = TRY_CTX(net::Cidr::parse(a.subnet, true), "--subnet");
  if (a.listen_port > 65535) return fail(Errc::invalid_input, "--wg-listen-port " + std::to_string(a.listen_port) + " is not a port");
  spec.listen_port = a.listen_port < 0 ? 0 : static_cast<uint16_t>(a.listen_port);
  for (const auto& p : a.peers) spec.peers.push_back(TRY(zos::parse_peer_flag(p)));
  std::string key = a.private_key_file.empty() ? a.private_key : TRY_CTX(read_key_file(a.private_key_file), "--wg-private-key-file");
  TRY(zos::finish_net_resource(spec, key, a.public_key));
  return spec;
}

Result<std::vector<net::ZosPeer>> read_peers(const ZosNetworkArgs& a) {
  std::vector<net::ZosPeer> peers;
  if (!a.config.empty()) {
    if (!a.peers.empty()) return fail(Errc::invalid_input, "--config or --peer, not both");
    auto j = TRY(read_json_file(a.config));
    if (!j.is_object()) return fail(Errc::invalid_input, a.config + ": a network resource is a JSON object");
    auto list = j.find("peers");
    if (list != j.end() && !list->is_null()) {
      if (!list->is_array()) return fail(Errc::invalid_input, a.config + ": peers: expected a list");
      for (size_t i = 0; i < list->size(); ++i)
        peers.push_back(TRY_CTX(zos::parse_peer_json((*list)[i], "peers[" + std::to_string(i) + "]"), a.config));
    }
    return peers;
  }
  for (const auto& p : a.peers) peers.push_back(TRY(zos::parse_peer_flag(p)));
  return peers;
}

Result<std::pair<std::string, std::string>> keygen() {
  auto [priv, pub] = TRY(zos::wg_keygen());
  return std::pair{zos::wg_key_base64(priv), zos::wg_key_base64(pub)};
}

}  // namespace

ZosNetworkCodec zos_network_codec() { return {read_spec, read_peers, keygen}; }

}  // namespace tiffin::cli
