#include "engine/zos_network_store.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "common/hex.hpp"

namespace tiffin::engine {

using json = nlohmann::json;

std::string zos_peers_to_json(const std::vector<net::ZosPeer>& peers) {
  json out = json::array();
  for (const auto& p : peers) {
    json allowed = json::array();
    for (const auto& a : p.allowed_ips) allowed.push_back(a.str());
    out.push_back({{"subnet", p.subnet.str()}, {"wg_public_key", p.public_key_b64},
        {"public_key_hex", to_hex(std::span<const uint8_t>(p.public_key.data(), p.public_key.size()))}, {"allowed_ips", allowed},
        {"endpoint", p.endpoint ? p.endpoint->str() : ""}});
  }
  return out.dump();
}

Result<std::vector<net::ZosPeer>> zos_peers_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return fail(Errc::invalid_input, "stored peers are not a JSON array");
  std::vector<net::ZosPeer> out;
  for (const auto& e : j) {
    net::ZosPeer p;
    p.subnet = TRY(net::Cidr::parse(e.value("subnet", ""), true));
    p.public_key_b64 = e.value("wg_public_key", "");
    auto key = from_hex(e.value("public_key_hex", ""));
    if (!key || key->size() != 32) return fail(Errc::invalid_input, "a stored peer's key is not 32 bytes of hex");
    std::copy(key->begin(), key->end(), p.public_key.begin());
    for (const auto& a : e.value("allowed_ips", json::array())) p.allowed_ips.push_back(TRY(net::Cidr::parse(a.get<std::string>(), false)));
    if (std::string ep = e.value("endpoint", ""); !ep.empty()) p.endpoint = TRY(net::WgEndpoint::parse(ep));
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::vector<ZosNetworkRecord>> ZosNetworkStore::select(const std::string& where, const std::string& arg) {
  auto st = TRY(sql::Stmt::prepare(db_,
      "SELECT z.network, z.net_id, z.ip_range, z.listen_port, z.public_key, z.peers, z.ndmz_ip, n.name, n.subnet "
      "FROM zos_networks z JOIN networks n ON n.id = z.network " +
          where));
  if (!arg.empty()) st.bind(1, arg);
  std::vector<ZosNetworkRecord> out;
  while (TRY(st.step())) {
    ZosNetworkRecord r;
    r.network_id = st.text(0);
    r.spec.net_id = st.text(1);
    r.spec.ip_range = TRY(net::Cidr::parse(st.text(2), true));
    r.spec.listen_port = static_cast<uint16_t>(st.i64(3));
    r.spec.public_key_b64 = st.text(4);
    r.spec.peers = TRY(zos_peers_from_json(st.text(5)));
    r.ndmz_ip = TRY(net::IpAddress::parse(st.text(6)));
    r.spec.name = st.text(7);
    r.spec.subnet = TRY(net::Cidr::parse(st.text(8), true));
    out.push_back(std::move(r));
  }
  return out;
}

Result<ZosNetworkRecord> ZosNetworkStore::get(const std::string& network_id) {
  auto found = TRY(select("WHERE z.network = ?1", network_id));
  if (found.empty()) return fail(Errc::not_found, "network " + network_id.substr(0, 12) + " is not a Zero-OS network (driver zos)");
  return found.front();
}

Result<std::vector<ZosNetworkRecord>> ZosNetworkStore::list() { return select("ORDER BY n.created", ""); }

Result<std::string> ZosNetworkStore::network_of(const std::string& net_id) {
  auto found = TRY(select("WHERE z.net_id = ?1", net_id));
  return found.empty() ? std::string() : found.front().network_id;
}

Result<ZosNetworkRecord> ZosNetworkStore::add(const std::string& network_id, const net::ZosNetworkSpec& spec) {
  ZosNetworkRecord r{network_id, spec, {}};
  r.spec.private_key = {};
  TRY(db_.exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Result<void> {
    if (!TRY(network_of(spec.net_id)).empty())
      return fail(Errc::conflict, "a network with Zero-OS network id " + spec.net_id + " already exists on this node");
    std::set<net::IpAddress> used;
    for (const auto& o : TRY(list())) used.insert(o.ndmz_ip);
    // .0 is the network, .1 the node's side; one address per resource after that.
    net::IpAddress ip = net::kZosNdmzGateway.plus(1);
    while (used.contains(ip)) ip = ip.plus(1);
    if (!net::kZosNdmzSubnet.contains(ip) || ip == net::kZosNdmzSubnet.last())
      return fail(Errc::unavailable, "no address left on the node's ndmz bridge " + net::kZosNdmzSubnet.str());
    r.ndmz_ip = ip;
    auto ins = TRY(sql::Stmt::prepare(
        db_, "INSERT INTO zos_networks (network, net_id, ip_range, listen_port, public_key, peers, ndmz_ip) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    ins.bind(1, network_id).bind(2, spec.net_id).bind(3, spec.ip_range.str()).bind(4, int64_t{spec.listen_port});
    ins.bind(5, spec.public_key_b64).bind(6, zos_peers_to_json(spec.peers)).bind(7, ip.str());
    return ins.run();
  }();
  if (body) body = db_.exec("COMMIT");
  if (!body) {
    (void)db_.exec("ROLLBACK");
    return std::unexpected(body.error());
  }
  return r;
}

Result<void> ZosNetworkStore::set_peers(const std::string& network_id, const std::vector<net::ZosPeer>& peers) {
  auto up = TRY(sql::Stmt::prepare(db_, "UPDATE zos_networks SET peers = ? WHERE network = ?"));
  return up.bind(1, zos_peers_to_json(peers)).bind(2, network_id).run();
}

}  // namespace tiffin::engine
