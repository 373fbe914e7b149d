#include "zos/workload_validation.hpp"

#include <set>

#include "common/text.hpp"
#include "net/address.hpp"

namespace tiffin::zos {
namespace {

std::unexpected<Error> invalid(const std::string& field, const std::string& why) { return fail(Errc::invalid_input, field + ": " + why); }

std::string indexed(const char* list, size_t i) { return std::string(list) + "[" + std::to_string(i) + "]"; }

Result<void> check_environment(const char* field, const std::map<std::string, std::string>& env) {
  for (const auto& [k, v] : env) {
    if (k.empty()) return invalid(field, "a variable has an empty name");
    if (k.find('=') != std::string::npos) return invalid(field, "the name '" + printable(k) + "' contains '='");
    if (k.find('\0') != std::string::npos) return invalid(field, "the name '" + printable(k) + "' contains a NUL byte");
    if (v.find('\0') != std::string::npos) return invalid(std::string(field) + "." + k, "the value contains a NUL byte");
  }
  return {};
}

Result<void> check_connection(const NetworkConnection& n, const std::string& name, const NodeFacts& node) {
  if (n.network_id.empty()) return invalid(name + ".network_id", "required");
  auto subnet_text = node.network_subnet(n.network_id);
  if (!subnet_text) return fail(Errc::not_found, name + ".network_id: no network '" + printable(n.network_id) + "' on this node");
  if (n.ipaddress.empty()) return {};
  auto ip = net::IpAddress::parse(n.ipaddress);
  if (!ip) return invalid(name + ".ipaddress", ip.error().message);
  auto subnet = net::Cidr::parse(*subnet_text, false);
  if (!subnet)
    return fail(Errc::internal, "network '" + printable(n.network_id) + "': the node's subnet is not a CIDR: " + subnet.error().message);
  net::Cidr net(subnet->network(), subnet->prefix());
  if (!net.contains(*ip)) return invalid(name + ".ipaddress", ip->str() + " is not in the network's subnet " + net.str() + " on this node");
  if (*ip == net.network()) return invalid(name + ".ipaddress", ip->str() + " is the subnet's network address");
  if (*ip == net.network().plus(1)) return invalid(name + ".ipaddress", ip->str() + " is the subnet's gateway");
  if (ip->is_v4() && *ip == net.last()) return invalid(name + ".ipaddress", ip->str() + " is the subnet's broadcast address");
  return {};
}

// "/data/" and "/data" are one mountpoint.
std::string without_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

Result<void> check_mountpoint(const std::string& mountpoint, const std::string& field) {
  if (mountpoint.empty()) return invalid(field, "required");
  if (mountpoint[0] != '/') return invalid(field, "'" + printable(mountpoint) + "' is not an absolute path");
  if (mountpoint.find('\0') != std::string::npos) return invalid(field, "'" + printable(mountpoint) + "' contains a NUL byte");
  for (const auto& part : split(mountpoint, '/'))
    if (part == "..") return invalid(field, "'" + printable(mountpoint) + "' contains '..'");
  if (mountpoint.find_first_not_of('/') == std::string::npos) return invalid(field, "a volume cannot be mounted on '/'");
  return {};
}

}  // namespace

Result<void> validate_workload(const ContainerWorkload& w, const NodeFacts& node) {
  if (w.flist.empty()) return invalid("flist", "required (the container's root filesystem)");
  if (w.capacity.cpu < 1) return invalid("capacity.cpu", "at least 1 (got " + std::to_string(w.capacity.cpu) + ")");
  if (w.capacity.memory < 64) return invalid("capacity.memory", "at least 64 MiB (got " + std::to_string(w.capacity.memory) + ")");
  if (w.capacity.disk_type != "hdd" && w.capacity.disk_type != "ssd")
    return invalid("capacity.disk_type", "'" + printable(w.capacity.disk_type) + "' is neither hdd nor ssd");
  TRY(check_environment("environment", w.environment));
  TRY(check_environment("secret_environment", w.secret_environment));

  if (w.network_connection.size() > 1)
    return invalid(
        "network_connection", "at most one network connection is supported (got " + std::to_string(w.network_connection.size()) + ")");
  for (size_t i = 0; i < w.network_connection.size(); ++i)
    TRY(check_connection(w.network_connection[i], indexed("network_connection", i), node));

  std::set<std::string> mountpoints;
  for (size_t i = 0; i < w.volumes.size(); ++i) {
    const auto& v = w.volumes[i];
    std::string name = indexed("volumes", i);
    if (v.volume_id.empty()) return invalid(name + ".volume_id", "required");
    TRY(check_mountpoint(v.mountpoint, name + ".mountpoint"));
    if (!mountpoints.insert(without_trailing_slashes(v.mountpoint)).second)
      return invalid(name + ".mountpoint", "'" + printable(v.mountpoint) + "' is used by another volume too");
    if (!node.volume_exists(v.volume_id))
      return fail(Errc::not_found, name + ".volume_id: no volume '" + printable(v.volume_id) + "' on this node");
  }
  return {};
}

}  // namespace tiffin::zos
