#include "zos/workload.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/text.hpp"
#include "net/address.hpp"
#include "zos/epoch.hpp"
#include "zos/json_read.hpp"

namespace tiffin::zos {
namespace {

using json = nlohmann::json;
using json_read::expected;
using json_read::read;

std::string indexed(const std::string& list, size_t i) { return list + "[" + std::to_string(i) + "]"; }

Result<void> read_string_map(const json& obj, std::string_view key, std::map<std::string, std::string>& out) {
  const json* m = TRY(json_read::object(obj, key, ""));
  if (!m) return {};
  for (const auto& [k, v] : m->items()) {
    if (!v.is_string()) return expected(std::string(key) + "." + printable(k), "a string");
    out[k] = v.get<std::string>();
  }
  return {};
}

Result<std::string> read_disk_type(const json& capacity) {
  const json* v = json_read::find(capacity, "disk_type");
  if (!v) return std::string("ssd");
  // tfexplorer's DiskTypeEnum: HDD = 0, SSD = 1.
  if (v->is_number_integer()) {
    if (*v == 0) return std::string("hdd");
    if (*v == 1) return std::string("ssd");
  }
  if (v->is_string() && (*v == "hdd" || *v == "ssd")) return v->get<std::string>();
  return expected("capacity.disk_type", "\"hdd\" or \"ssd\" (or 0 or 1)");
}

Result<void> read_capacity(const json& obj, Capacity& c) {
  const json* cap = TRY(json_read::object(obj, "capacity", ""));
  if (!cap) return {};
  TRY(read(*cap, "cpu", "capacity", c.cpu));
  TRY(read(*cap, "memory", "capacity", c.memory));
  TRY(read(*cap, "disk_size", "capacity", c.disk_size));
  if (c.cpu < 0) return expected("capacity.cpu", "a non-negative integer");
  if (c.memory < 0) return expected("capacity.memory", "a non-negative integer");
  c.disk_type = TRY(read_disk_type(*cap));
  return {};
}

// Each element of a list field as an object, with its name for messages ("volumes[2]").
template <class F>
Result<void> for_each_object(const json& obj, std::string_view key, F&& each) {
  const json* list = TRY(json_read::list(obj, key, ""));
  if (!list) return {};
  for (size_t i = 0; i < list->size(); ++i) {
    std::string name = indexed(std::string(key), i);
    const json& e = (*list)[i];
    if (!e.is_object()) return expected(name, "an object");
    TRY(each(e, name));
  }
  return {};
}

// A {"type": "redis", "data": {...}} entry of logs or stats: its data object.
Result<const json*> redis_data(const json& e, const std::string& name) {
  std::string type;
  TRY(read(e, "type", name, type));
  if (type != "redis") return fail(Errc::invalid_input, name + ".type: \"" + printable(type) + "\" is not supported (only \"redis\")");
  const json* data = TRY(json_read::object(e, "data", name));
  static const json empty = json::object();
  return data ? data : &empty;
}

Result<void> read_workload_type(const json& j) {
  const json* t = json_read::find(j, "workload_type");
  if (!t) return {};
  // tfexplorer's WorkloadTypeEnum: ZDB = 0, Container = 1, Volume = 2, ...
  if (t->is_number_integer() && *t == 1) return {};
  if (t->is_string()) {
    std::string s = t->get<std::string>();
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s == "container") return {};
  }
  return fail(Errc::invalid_input, "workload_type: " + printable(t->dump()) + " is not a container workload (1 or \"container\")");
}

// Go's net.IP.String() of a 16-byte IPv6 address that is not IPv4-mapped.
std::string go_ipv6_string(const uint8_t* b) {
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
  // The longest run of two or more zero groups (the first of equal runs) becomes "::".
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j;
  }
  if (best_len < 2) best = -1;
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
  }
  return out;
}

void add_env(std::string& out, const std::map<std::string, std::string>& env) {
  // std::map iterates in byte order, as Go's sort.Strings sorts.
  for (const auto& [k, v] : env) out += k + "=" + v;
}

}  // namespace

std::string go_ip_string(std::string_view address) {
  if (address.empty()) return "<nil>";
  auto ip = net::IpAddress::parse(address);
  if (!ip) return std::string(address);
  if (ip->is_v4()) return ip->str();
  const uint8_t* b = ip->bytes();
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(b, b + 12, kMapped)) return net::IpAddress::from_bytes(net::IpAddress::Family::v4, b + 12).str();
  return go_ipv6_string(b);
}

Result<ContainerWorkload> parse_workload(const json& j) {
  if (!j.is_object()) return fail(Errc::invalid_input, "workload: expected a JSON object");
  ContainerWorkload w;
  TRY(read_workload_type(j));
  TRY(read(j, "workload_id", "", w.workload_id));
  TRY(read(j, "node_id", "", w.node_id));
  TRY(read(j, "pool_id", "", w.pool_id));
  TRY(read(j, "reference", "", w.reference));
  TRY(read(j, "customer_tid", "", w.customer_tid));
  if (const json* e = json_read::find(j, "epoch")) w.epoch = TRY(epoch_from_json(*e, "epoch"));
  TRY(read(j, "description", "", w.description));
  TRY(read(j, "metadata", "", w.metadata));

  TRY(read(j, "flist", "", w.flist));
  TRY(read(j, "hub_url", "", w.hub_url));
  TRY(read_string_map(j, "environment", w.environment));
  TRY(read_string_map(j, "secret_environment", w.secret_environment));
  TRY(read(j, "entrypoint", "", w.entrypoint));
  TRY(read(j, "interactive", "", w.interactive));
  TRY(for_each_object(j, "volumes", [&](const json& e, const std::string& name) -> Result<void> {
    VolumeMount v;
    TRY(read(e, "volume_id", name, v.volume_id));
    TRY(read(e, "mountpoint", name, v.mountpoint));
    w.volumes.push_back(std::move(v));
    return {};
  }));
  TRY(for_each_object(j, "network_connection", [&](const json& e, const std::string& name) -> Result<void> {
    NetworkConnection n;
    TRY(read(e, "network_id", name, n.network_id));
    TRY(read(e, "ipaddress", name, n.ipaddress));
    TRY(read(e, "public_ip6", name, n.public_ip6));
    if (!n.ipaddress.empty()) (void)TRY_CTX(net::IpAddress::parse(n.ipaddress), name + ".ipaddress");
    w.network_connection.push_back(std::move(n));
    return {};
  }));
  TRY(read_capacity(j, w.capacity));
  TRY(for_each_object(j, "logs", [&](const json& e, const std::string& name) -> Result<void> {
    const json* data = TRY(redis_data(e, name));
    RedisLogs l;
    TRY(read(*data, "stdout", name + ".data", l.stdout_url));
    TRY(read(*data, "stderr", name + ".data", l.stderr_url));
    w.logs.push_back(std::move(l));
    return {};
  }));
  std::string_view stats_key = json_read::find(j, "stats") || !json_read::find(j, "stats_aggregator") ? "stats" : "stats_aggregator";
  TRY(for_each_object(j, stats_key, [&](const json& e, const std::string& name) -> Result<void> {
    const json* data = TRY(redis_data(e, name));
    std::string endpoint;
    TRY(read(*data, "endpoint", name + ".data", endpoint));
    w.stats_endpoints.push_back(std::move(endpoint));
    return {};
  }));
  return w;
}

Result<ContainerWorkload> parse_workload_text(std::string_view text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 3: …": the part after the tag.
    std::string what = e.what();
    if (auto close = what.find("] "); what.starts_with("[json.exception.") && close != std::string::npos) what.erase(0, close + 2);
    return fail(Errc::invalid_input, "workload: invalid JSON: " + printable(what));
  }
  return parse_workload(j);
}

json workload_json(const ContainerWorkload& w) {
  json j = json::object();
  j["workload_id"] = w.workload_id;
  j["node_id"] = w.node_id;
  j["pool_id"] = w.pool_id;
  j["reference"] = w.reference;
  j["customer_tid"] = w.customer_tid;
  j["epoch"] = w.epoch;
  j["description"] = w.description;
  j["metadata"] = w.metadata;
  j["flist"] = w.flist;
  j["hub_url"] = w.hub_url;
  j["environment"] = w.environment;
  j["secret_environment"] = w.secret_environment;
  j["entrypoint"] = w.entrypoint;
  j["interactive"] = w.interactive;
  j["volumes"] = json::array();
  for (const auto& v : w.volumes) j["volumes"].push_back({{"volume_id", v.volume_id}, {"mountpoint", v.mountpoint}});
  j["network_connection"] = json::array();
  for (const auto& n : w.network_connection)
    j["network_connection"].push_back({{"network_id", n.network_id}, {"ipaddress", n.ipaddress}, {"public_ip6", n.public_ip6}});
  j["capacity"] = {
      {"cpu", w.capacity.cpu}, {"memory", w.capacity.memory}, {"disk_size", w.capacity.disk_size}, {"disk_type", w.capacity.disk_type}};
  j["logs"] = json::array();
  for (const auto& l : w.logs) j["logs"].push_back({{"type", "redis"}, {"data", {{"stdout", l.stdout_url}, {"stderr", l.stderr_url}}}});
  j["stats"] = json::array();
  for (const auto& s : w.stats_endpoints) j["stats"].push_back({{"type", "redis"}, {"data", {{"endpoint", s}}}});
  return j;
}

std::string signature_challenge(const ContainerWorkload& w) {
  auto boolean = [](bool b) { return b ? "true" : "false"; };
  std::string out;
  out += std::to_string(w.workload_id);
  out += w.node_id;
  out += std::to_string(w.pool_id);
  out += w.reference;
  out += std::to_string(w.customer_tid);
  out += "CONTAINER";
  out += std::to_string(w.epoch);
  out += w.description;
  out += w.metadata;

  out += w.flist;
  out += w.hub_url;
  out += w.entrypoint;
  out += boolean(w.interactive);
  add_env(out, w.environment);
  add_env(out, w.secret_environment);
  for (const auto& v : w.volumes) out += v.volume_id + v.mountpoint;
  for (const auto& n : w.network_connection) out += n.network_id + go_ip_string(n.ipaddress) + boolean(n.public_ip6);
  out += std::to_string(w.capacity.cpu);
  out += std::to_string(w.capacity.memory);
  out += std::to_string(w.capacity.disk_size);
  out += w.capacity.disk_type;
  return out;
}

}  // namespace tiffin::zos
