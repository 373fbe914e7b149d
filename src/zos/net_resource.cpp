#include "zos/net_resource.hpp"

#include <sodium.h>

#include "zos/json_read.hpp"
#include "zos/sodium_ready.hpp"

namespace tiffin::zos {

using json = nlohmann::json;

Result<net::WgKey> parse_wg_key(std::string_view base64, const std::string& what) {
  net::WgKey key{};
  size_t len = 0;
  const char* end = nullptr;
  if (base64.size() != 44 ||
      sodium_base642bin(key.data(), key.size(), base64.data(), base64.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != 32 || end != base64.data() + base64.size())
    return fail(Errc::invalid_input, what + " is not a WireGuard key (base64 of 32 bytes, as `wg genkey` prints)");
  return key;
}

std::string wg_key_base64(const net::WgKey& key) {
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

net::WgKey wg_public_key(const net::WgKey& private_key) {
  net::WgKey pub{};
  (void)sodium_ready();
  crypto_scalarmult_curve25519_base(pub.data(), private_key.data());  // clamps a copy of the scalar itself
  return pub;
}

Result<std::pair<net::WgKey, net::WgKey>> wg_keygen() {
  TRY(sodium_ready());
  net::WgKey priv{};
  randombytes_buf(priv.data(), priv.size());
  // Clamped as Curve25519 wants it, as `wg genkey` prints it.
  priv[0] &= 248;
  priv[31] = static_cast<uint8_t>((priv[31] & 127) | 64);
  return std::pair{priv, wg_public_key(priv)};
}

namespace {

void default_allowed_ips(net::ZosPeer& p) {
  if (!p.allowed_ips.empty()) return;
  p.allowed_ips.push_back(p.subnet);
  p.allowed_ips.emplace_back(net::zos_wg_address(p.subnet).address(), 32);
}

}  // namespace

Result<net::ZosPeer> parse_peer_flag(std::string_view text) {
  net::ZosPeer p;
  bool have_subnet = false, in_allowed = false;
  std::string where = "--peer '" + std::string(text) + "'";
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view key = eq == std::string_view::npos ? std::string_view() : item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? item : item.substr(eq + 1);
    if (eq == std::string_view::npos) {
      if (!in_allowed) return fail(Errc::invalid_input, where + ": '" + std::string(item) + "' is not key=value");
      key = "allowed-ips";
    }
    in_allowed = key == "allowed-ips" || key == "allowed_ips";
    if (key == "pubkey" || key == "public-key" || key == "wg_public_key") {
      p.public_key = TRY_CTX(parse_wg_key(value, "pubkey"), where);
      p.public_key_b64 = std::string(value);
    } else if (key == "subnet") {
      p.subnet = TRY_CTX(net::Cidr::parse(value, true), where);
      have_subnet = true;
    } else if (in_allowed) {
      p.allowed_ips.push_back(TRY_CTX(net::Cidr::parse(value, true), where));
    } else if (key == "endpoint") {
      p.endpoint = TRY_CTX(net::WgEndpoint::parse(value), where);
    } else {
      return fail(Errc::invalid_input, where + ": unknown key '" + std::string(key) + "' (pubkey, subnet, allowed-ips, endpoint)");
    }
  }
  if (p.public_key_b64.empty()) return fail(Errc::invalid_input, where + ": no pubkey=");
  if (!have_subnet) return fail(Errc::invalid_input, where + ": no subnet=");
  default_allowed_ips(p);
  return p;
}

Result<net::ZosPeer> parse_peer_json(const json& j, const std::string& where) {
  if (!j.is_object()) return fail(Errc::invalid_input, where + ": expected an object");
  net::ZosPeer p;
  std::string subnet, endpoint;
  TRY(json_read::read(j, "subnet", where, subnet));
  TRY(json_read::read(j, "wg_public_key", where, p.public_key_b64));
  TRY(json_read::read(j, "endpoint", where, endpoint));
  if (subnet.empty()) return fail(Errc::invalid_input, where + ".subnet: missing");
  p.subnet = TRY_CTX(net::Cidr::parse(subnet, true), where + ".subnet");
  p.public_key = TRY(parse_wg_key(p.public_key_b64, where + ".wg_public_key"));
  if (!endpoint.empty()) p.endpoint = TRY_CTX(net::WgEndpoint::parse(endpoint), where + ".endpoint");
  if (const json* allowed = TRY(json_read::list(j, "allowed_ips", where)))
    for (size_t i = 0; i < allowed->size(); ++i) {
      std::string at = where + ".allowed_ips[" + std::to_string(i) + "]";
      if (!(*allowed)[i].is_string()) return fail(Errc::invalid_input, at + ": expected a string");
      p.allowed_ips.push_back(TRY_CTX(net::Cidr::parse((*allowed)[i].get<std::string>(), true), at));
    }
  default_allowed_ips(p);
  return p;
}

Result<void> finish_net_resource(net::ZosNetworkSpec& spec, std::string_view private_key_b64, std::string_view public_key_b64) {
  if (private_key_b64.empty()) return fail(Errc::invalid_input, "the WireGuard private key is missing (tiffin network keygen makes one)");
  spec.private_key = TRY(parse_wg_key(private_key_b64, "the WireGuard private key"));
  spec.public_key_b64 = wg_key_base64(wg_public_key(spec.private_key));
  if (!public_key_b64.empty() && public_key_b64 != spec.public_key_b64)
    return fail(Errc::invalid_input,
        "the WireGuard public key " + std::string(public_key_b64) + " is not the private key's (" + spec.public_key_b64 + ")");
  return net::validate_zos_network(spec);
}

Result<net::ZosNetworkSpec> parse_net_resource(const json& j, const std::string& name) {
  if (!j.is_object()) return fail(Errc::invalid_input, "a network resource is a JSON object");
  net::ZosNetworkSpec spec;
  std::string ip_range, subnet, priv, pub;
  int64_t port = 0;
  TRY(json_read::read(j, "name", "", spec.name));
  TRY(json_read::read(j, "net_id", "", spec.net_id));
  TRY(json_read::read(j, "ip_range", "", ip_range));
  TRY(json_read::read(j, "subnet", "", subnet));
  TRY(json_read::read(j, "wg_private_key", "", priv));
  TRY(json_read::read(j, "wg_public_key", "", pub));
  TRY(json_read::read(j, "wg_listen_port", "", port));
  if (!name.empty()) spec.name = name;
  if (spec.name.empty()) return fail(Errc::invalid_input, "name: missing (in the file or on the command line)");
  if (spec.net_id.empty()) spec.net_id = spec.name;
  if (ip_range.empty() || subnet.empty()) return fail(Errc::invalid_input, "ip_range and subnet are required");
  spec.ip_range = TRY_CTX(net::Cidr::parse(ip_range, true), "ip_range");
  spec.subnet = TRY_CTX(net::Cidr::parse(subnet, true), "subnet");
  if (port < 0 || port > 65535) return fail(Errc::invalid_input, "wg_listen_port: " + std::to_string(port) + " is not a port");
  spec.listen_port = static_cast<uint16_t>(port);
  if (const json* peers = TRY(json_read::list(j, "peers", "")))
    for (size_t i = 0; i < peers->size(); ++i) spec.peers.push_back(TRY(parse_peer_json((*peers)[i], "peers[" + std::to_string(i) + "]")));
  TRY(finish_net_resource(spec, priv, pub));
  return spec;
}

}  // namespace tiffin::zos
