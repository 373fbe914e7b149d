// A Zero-OS container workload as tfexplorer (v2 grid) describes it: its ReservationInfo (who,
// where, when) and the Container itself (flist, environment, volumes, network, capacity, logs),
// read from the explorer's JSON and written back, and the bytes its owner signs
// (signature_challenge), reproduced byte for byte so a signature made by tfexplorer's clients
// verifies here.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::zos {

struct VolumeMount {
  std::string volume_id, mountpoint;
  bool operator==(const VolumeMount&) const = default;
};

struct NetworkConnection {
  std::string network_id;
  std::string ipaddress;  // as written; "" when the node is to choose
  bool public_ip6 = false;
  bool operator==(const NetworkConnection&) const = default;
};

struct Capacity {
  int64_t cpu = 0;
  int64_t memory = 0;             // MiB
  uint64_t disk_size = 0;         // MiB, the root filesystem
  std::string disk_type = "ssd";  // "hdd" or "ssd"
  bool operator==(const Capacity&) const = default;
};

// Where the container's output goes: json {"type":"redis","data":{"stdout":…,"stderr":…}}.
struct RedisLogs {
  std::string stdout_url, stderr_url;
  bool operator==(const RedisLogs&) const = default;
};

struct ContainerWorkload {
  // ReservationInfo
  int64_t workload_id = 0;
  std::string node_id;
  int64_t pool_id = 0;
  std::string reference;
  int64_t customer_tid = 0;
  int64_t epoch = 0;  // unix seconds
  std::string description, metadata;
  // Container
  std::string flist, hub_url;
  std::map<std::string, std::string> environment, secret_environment;  // secret values: secret_env.hpp
  std::string entrypoint;
  bool interactive = false;
  std::vector<VolumeMount> volumes;
  std::vector<NetworkConnection> network_connection;
  Capacity capacity;
  std::vector<RedisLogs> logs;
  std::vector<std::string> stats_endpoints;  // json "stats": [{"type":"redis","data":{"endpoint":…}}]

  bool operator==(const ContainerWorkload&) const = default;
};

// Reads the explorer's JSON. Strict about types, as Go's decoder is (a string where a number
// belongs, a non-object environment, a negative cpu: Errc::invalid_input naming the field, e.g.
// "capacity.memory: expected an integer"); unknown keys are ignored (explorer workloads carry
// many more: state, signatures, results) and missing ones keep the defaults above.
//  - epoch: unix seconds or an RFC 3339 string;
//  - capacity.disk_type: "hdd"/"ssd", or tfexplorer's enum number 0 (hdd) / 1 (ssd);
//  - ipaddress: "" or an IPv4/IPv6 address (Go's net.IP refuses anything else);
//  - logs and stats of a type other than "redis" are refused; "stats_aggregator" (older
//    explorers' name) is read when "stats" is absent;
//  - workload_type, when given, must be the container's (1, or "container"): the challenge
//    signs "CONTAINER", so another type's document can never verify as one.
Result<ContainerWorkload> parse_workload(const nlohmann::json& j);
// The same from text; invalid JSON is Errc::invalid_input with the parser's position.
Result<ContainerWorkload> parse_workload_text(std::string_view text);
// Every field, epoch as an integer and disk_type as a string; parse_workload reads it back equal.
nlohmann::json workload_json(const ContainerWorkload& w);

// The bytes the workload's owner signs: tfexplorer's Container.SignatureChallenge, in its order.
// ReservationInfo: "%d" workload_id, node_id, "%d" pool_id, reference, "%d" customer_tid,
// "CONTAINER", "%d" epoch, description, metadata; then flist, hub_url, entrypoint, interactive
// ("true"/"false"), environment as k=v in sorted key order with no separators, secret_environment
// likewise, each volume's volume_id then mountpoint, each network connection's network_id, its
// address as Go's net.IP.String() prints it ("<nil>" when empty; IPv4 dotted, IPv4-mapped IPv6
// too; IPv6 in RFC 5952 form: lowercase, longest run of zero groups compressed) and public_ip6
// ("true"/"false"), then capacity "%d" cpu, "%d" memory, "%d" disk_size, disk_type. Logs and
// stats are not part of it (tfexplorer leaves them out). An address that does not parse (which
// parse_workload refuses) is written as given.
std::string signature_challenge(const ContainerWorkload& w);

// An address as Go's net.IP.String() prints it, as above ("<nil>" for "").
std::string go_ip_string(std::string_view address);

}  // namespace tiffin::zos
