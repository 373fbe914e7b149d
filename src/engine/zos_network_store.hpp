// What a Zero-OS network resource (a network of driver zos) has beyond a bridge network's, in
// the engine's SQLite: the network id shared by all its nodes, the /16, the WireGuard listen
// port, public key and peers, and the resource's address on the node's ndmz bridge (leased
// here, one per resource). The private key is not here: it is a file of its own, 0600
// (Engine::zos_key_path). Rows go with their network (ON DELETE CASCADE).
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/sqlite.hpp"
#include "net/zos_network.hpp"

namespace tiffin::engine {

struct ZosNetworkRecord {
  std::string network_id;
  net::ZosNetworkSpec spec;  // without its private key
  net::IpAddress ndmz_ip;
};

class ZosNetworkStore {
 public:
  explicit ZosNetworkStore(sql::Db& db) : db_(db) {}

  // Records the resource of network `network_id` and leases its ndmz address. Errc::conflict
  // when another network of this node has the same Zero-OS network id.
  Result<ZosNetworkRecord> add(const std::string& network_id, const net::ZosNetworkSpec& spec);
  // Errc::not_found when the network is not a zos one.
  Result<ZosNetworkRecord> get(const std::string& network_id);
  Result<std::vector<ZosNetworkRecord>> list();
  // The network that has Zero-OS network id `net_id`, or "" when none has.
  Result<std::string> network_of(const std::string& net_id);
  Result<void> set_peers(const std::string& network_id, const std::vector<net::ZosPeer>& peers);

 private:
  Result<std::vector<ZosNetworkRecord>> select(const std::string& where, const std::string& arg);
  sql::Db& db_;
};

// The peers as stored (and as `network inspect` shows them): Zero-OS's field names.
std::string zos_peers_to_json(const std::vector<net::ZosPeer>& peers);
Result<std::vector<net::ZosPeer>> zos_peers_from_json(std::string_view text);

}  // namespace tiffin::engine
