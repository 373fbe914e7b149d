#include "net/nft_ruleset.hpp"

#include <set>
#include <utility>
#include <vector>

namespace tiffin::net {
namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

// A name as it may appear in a quoted nft string: only name characters survive, so a name can
// never end the string and add rules of its own (check_network_rules refuses such names first).
std::string quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name)
    if (name_char(c)) out += c;
  return out + "\"";
}

bool is_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!name_char(c)) return false;
  return true;
}

// One element of a port map: which map, its key and its value, in nft's syntax.
struct Element {
  std::string map, key, value;
};

Element element_of(const PortMapping& m) {
  const char* fam = m.container_ip.is_v4() ? "4" : "6";
  std::string proto_port = std::string(proto_name(m.proto)) + " . " + std::to_string(m.host_port);
  std::string value = m.container_ip.str() + " . " + std::to_string(m.container_port);
  if (m.host_ip && !m.host_ip->is_unspecified()) return {std::string("published_at") + fam, m.host_ip->str() + " . " + proto_port, value};
  return {std::string("published_any") + fam, proto_port, value};
}

// The valid mappings as map elements, the first of each key only.
std::vector<Element> elements_of(std::span<const PortMapping> ports) {
  std::vector<Element> out;
  std::set<std::pair<std::string, std::string>> keys;
  for (const PortMapping& m : ports) {
    if (!check_port_mapping(m)) continue;
    Element e = element_of(m);
    if (keys.emplace(e.map, e.key).second) out.push_back(std::move(e));
  }
  return out;
}

std::string map_declaration(const std::string& name, const char* type, const std::vector<Element>& elements) {
  std::string out = "  map " + name + " {\n    type " + type + "\n";
  std::string list;
  for (const Element& e : elements)
    if (e.map == name) list += (list.empty() ? "" : ", ") + e.key + " : " + e.value;
  if (!list.empty()) out += "    elements = { " + list + " }\n";
  return out + "  }\n";
}

// The element commands for `ports` with `verb` ("add" or "delete").
std::string element_commands(const char* verb, std::span<const PortMapping> ports, std::string_view table) {
  std::string out;
  for (const Element& e : elements_of(ports))
    out += std::string(verb) + " element " + std::string(table) + " " + e.map + " { " + e.key + " : " + e.value + " }\n";
  return out;
}

// The postrouting rules of one network: what a container could not answer without NAT.
std::string postrouting_rules(const BridgeNetworkRules& n) {
  std::string out, br = quoted(n.bridge), tag = " comment " + quoted(n.name);
  if (n.subnet4) {
    std::string s = n.subnet4->str();
    // The host's 127.0.0.1 DNAT'ed to a container (route_localnet lets it leave on the bridge):
    // the container would answer its own loopback.
    out += "    oifname " + br + " ip saddr 127.0.0.0/8 ct status dnat masquerade" + tag + "\n";
    // Hairpin: a container reached its own subnet through a published port on a host address;
    // the peer's answer would go straight back on the bridge, bypassing the DNAT's reversal.
    out += "    oifname " + br + " ip saddr " + s + " ip daddr " + s + " ct status dnat masquerade" + tag + "\n";
    if (!n.internal) out += "    oifname != " + br + " ip saddr " + s + " masquerade" + tag + "\n";
  }
  if (n.subnet6) {
    std::string s = n.subnet6->str();
    out += "    oifname " + br + " ip6 saddr " + s + " ip6 daddr " + s + " ct status dnat masquerade" + tag + "\n";
    if (!n.internal) out += "    oifname != " + br + " ip6 saddr " + s + " masquerade" + tag + "\n";
  }
  return out;
}

}  // namespace

Result<void> check_network_rules(const BridgeNetworkRules& n) {
  if (!is_name(n.name)) return fail(Errc::invalid_input, "'" + n.name + "' is not a valid network name for firewall rules");
  if (!is_name(n.bridge) || n.bridge.size() > 15) return fail(Errc::invalid_input, "'" + n.bridge + "' is not a valid bridge name");
  if (n.subnet4 && !n.subnet4->address().is_v4()) return fail(Errc::invalid_input, n.subnet4->str() + " is not an IPv4 subnet");
  if (n.subnet6 && n.subnet6->address().is_v4()) return fail(Errc::invalid_input, n.subnet6->str() + " is not an IPv6 subnet");
  return {};
}

Result<void> check_port_mapping(const PortMapping& m) {
  if (m.host_port == 0 || m.container_port == 0) return fail(Errc::invalid_input, "port 0 cannot be published");
  if (m.container_ip.is_unspecified()) return fail(Errc::invalid_input, "a published port needs the container's address");
  if (m.host_ip && m.host_ip->family() != m.container_ip.family())
    return fail(Errc::invalid_input, "host address " + m.host_ip->str() + " and container address " + m.container_ip.str() +
                                         " are of different families (a port is published per family)");
  return {};
}

std::string nft_delete_table(std::string_view table_name) {
  const std::string table(table_name);
  return "add table " + table + "\ndelete table " + table + "\n";
}

std::string nft_ruleset(std::span<const BridgeNetworkRules> networks, std::span<const PortMapping> ports, std::string_view table_name) {
  std::vector<const BridgeNetworkRules*> nets;
  for (const BridgeNetworkRules& n : networks)
    if (check_network_rules(n)) nets.push_back(&n);
  std::vector<Element> elements = elements_of(ports);
  const std::string table(table_name);

  // Deleting a table that is not there would fail the transaction; adding an existing one is a
  // no-op. So: make sure it exists, delete it, declare it anew — one atomic replacement.
  std::string out = nft_delete_table(table) + "table " + table + " {\n";
  out += map_declaration("published_any4", "inet_proto . inet_service : ipv4_addr . inet_service", elements);
  out += map_declaration("published_any6", "inet_proto . inet_service : ipv6_addr . inet_service", elements);
  out += map_declaration("published_at4", "ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service", elements);
  out += map_declaration("published_at6", "ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service", elements);
  out += "  set bridges {\n    type ifname\n";
  if (!nets.empty()) {
    std::string list;
    for (const auto* n : nets) list += (list.empty() ? "" : ", ") + quoted(n->bridge);
    out += "    elements = { " + list + " }\n";
  }
  out += "  }\n";

  // A specific host address wins over "every address"; a packet of another family skips the
  // other family's rules (dnat ip/ip6 match only their own).
  out +=
      "  chain published {\n"
      "    meta l4proto != { tcp, udp } return\n"
      "    dnat ip to ip daddr . meta l4proto . th dport map @published_at4\n"
      "    dnat ip to meta l4proto . th dport map @published_any4\n"
      "    dnat ip6 to ip6 daddr . meta l4proto . th dport map @published_at6\n"
      "    dnat ip6 to meta l4proto . th dport map @published_any6\n"
      "  }\n";
  // dstnat is -100; nft 1.0.6 accepts the name in prerouting only, so output says the number.
  out +=
      "  chain prerouting {\n"
      "    type nat hook prerouting priority dstnat; policy accept;\n"
      "    fib daddr type local jump published\n"
      "  }\n"
      "  chain output {\n"
      "    type nat hook output priority -100; policy accept;\n"
      "    fib daddr type local jump published\n"
      "  }\n";
  out +=
      "  chain postrouting {\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n";
  for (const auto* n : nets) out += postrouting_rules(*n);
  out += "  }\n";

  bool guards_host = false;
  for (const auto* n : nets) guards_host = guards_host || n->no_host_access;
  if (guards_host) {
    out +=
        "  chain input {\n"
        "    type filter hook input priority filter; policy accept;\n";
    for (const auto* n : nets)
      if (n->no_host_access) {
        std::string br = quoted(n->bridge), tag = " comment " + quoted(n->name);
        out += "    iifname " + br + " ct state established,related accept" + tag + "\n";
        out += "    iifname " + br + " drop" + tag + "\n";
      }
    out += "  }\n";
  }
  out +=
      "  chain forward {\n"
      "    type filter hook forward priority filter; policy accept;\n";
  // Internal networks first: not even a published port or an established flow crosses them.
  for (const auto* n : nets)
    if (n->internal) {
      std::string br = quoted(n->bridge), tag = " comment " + quoted(n->name);
      out += "    iifname " + br + " oifname != " + br + " drop" + tag + "\n";
      out += "    oifname " + br + " iifname != " + br + " drop" + tag + "\n";
    }
  out +=
      "    ct state established,related accept\n"
      "    ct status dnat accept\n";
  // Networks reach each other only through published ports (accepted above).
  for (const auto* n : nets)
    if (!n->internal) {
      std::string br = quoted(n->bridge);
      out += "    iifname " + br + " oifname != " + br + " oifname @bridges drop comment " + quoted(n->name) + "\n";
    }
  out += "  }\n}\n";
  return out;
}

std::string nft_add_ports(std::span<const PortMapping> ports, std::string_view table) { return element_commands("add", ports, table); }

std::string nft_delete_ports(std::span<const PortMapping> ports, std::string_view table) {
  // add, then delete: each element exists (with this destination) when the delete comes.
  return element_commands("add", ports, table) + element_commands("delete", ports, table);
}

}  // namespace tiffin::net
