#include "cli/zos_container_spec.hpp"

#include <nlohmann/json.hpp>

#include <set>

#include "common/text.hpp"

namespace tiffin::cli {

using json = nlohmann::json;

namespace {

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// "a, b,,c" → a, b, c.
std::vector<std::string> comma_list(const std::string& s) {
  std::vector<std::string> out;
  for (const auto& part : split(s, ','))
    if (std::string t = trimmed(part); !t.empty()) out.push_back(t);
  return out;
}

// A port or a container port as Zero-OS's JSON held it: a number or a string.
Result<std::string> port_text(const json& v, const std::string& where) {
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  if (v.is_string() && !v.get<std::string>().empty()) return v.get<std::string>();
  return fail(Errc::invalid_input, where + ": expected a port (a number or a string)");
}

bool is_url(const std::string& s) { return s.starts_with("http://") || s.starts_with("https://"); }

Result<void> add_env(ZosContainerPlan& p, const std::string& key, const std::string& value, const std::string& where) {
  if (key.empty() || key.find('=') != std::string::npos)
    return fail(Errc::invalid_input, where + ": '" + key + "' is not a variable's name");
  p.run.insert(p.run.end(), {"-e", key + "=" + value});
  return {};
}

// extraconfig's "nics": the first becomes run's --network (with its address and MAC), the others
// `network connect` once the container runs.
Result<void> plan_nics(ZosContainerPlan& p, const json& nics) {
  if (!nics.is_array()) return fail(Errc::invalid_input, "extraconfig.nics: expected an array of {\"type\": …}");
  if (nics.empty()) {
    p.run.insert(p.run.end(), {"--network", "none"});  // Zero-OS: no interface but lo
    return {};
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < nics.size(); ++i) {
    std::string where = "extraconfig.nics[" + std::to_string(i) + "]";
    const json& nic = nics[i];
    if (!nic.is_object() || !nic.contains("type") || !nic["type"].is_string())
      return fail(Errc::invalid_input, where + ": expected an object with a \"type\"");
    std::string type = nic["type"].get<std::string>(), network, ip, mac;
    for (const auto& [k, v] : nic.items()) {
      if (k == "type") continue;
      if (k == "id" || k == "name") {
        if (!v.is_string()) return fail(Errc::invalid_input, where + "." + k + ": expected a string");
      } else if (k == "hwaddr") {
        if (!v.is_string()) return fail(Errc::invalid_input, where + ".hwaddr: expected a MAC address");
        mac = v.get<std::string>();
      } else if (k == "config") {
        if (!v.is_object()) return fail(Errc::invalid_input, where + ".config: expected an object");
        for (const auto& [ck, cv] : v.items()) {
          if (ck == "cidr") {
            if (!cv.is_string()) return fail(Errc::invalid_input, where + ".config.cidr: expected \"address/prefix\"");
            std::string cidr = cv.get<std::string>();
            ip = cidr.substr(0, cidr.find('/'));  // the network has the prefix
          } else if (ck == "dhcp") {
            if (!cv.is_boolean()) return fail(Errc::invalid_input, where + ".config.dhcp: expected a boolean");
            if (cv.get<bool>()) p.notes.push_back(where + ".config.dhcp: addresses come from the tiffin network's own range");
          } else if (ck == "gateway") {
            p.notes.push_back(where + ".config.gateway: the tiffin network's gateway is used");
          } else if (ck == "dns") {
            if (!cv.is_array()) return fail(Errc::invalid_input, where + ".config.dns: expected an array of addresses");
            for (const auto& d : cv) {
              if (!d.is_string()) return fail(Errc::invalid_input, where + ".config.dns: expected an array of addresses");
              p.run.insert(p.run.end(), {"--dns", d.get<std::string>()});
            }
          } else {
            return fail(Errc::invalid_input, where + ".config: unknown key '" + ck + "' (known: cidr, dhcp, gateway, dns)");
          }
        }
      } else {
        return fail(Errc::invalid_input, where + ": unknown key '" + k + "' (known: type, id, name, hwaddr, config)");
      }
    }
    if (type == "default") {
      network = "bridge";  // tiffin's default network
    } else if (type == "bridge") {
      // Zero-OS named the host's bridge in "id"; here a bridge is a tiffin network, by its name.
      network = nic.contains("id") ? nic["id"].get<std::string>() : nic.value("name", "");
      if (network.empty()) return fail(Errc::invalid_input, where + ": a bridge nic needs the network's name in \"id\"");
    } else if (type == "zerotier" || type == "macvlan" || type == "passthrough" || type == "vlan" || type == "vxlan") {
      return fail(Errc::unsupported, where + ": nics of type '" + type +
                                         "' are not supported by tiffin (default and bridge are: a bridge nic joins the tiffin network "
                                         "named by its id, `tiffin network create NAME`)");
    } else {
      return fail(Errc::invalid_input,
          where + ": unknown nic type '" + type + "' (Zero-OS's: default, bridge, zerotier, macvlan, passthrough, vlan, vxlan)");
    }
    if (!seen.insert(network).second) return fail(Errc::invalid_input, where + ": the container is on network '" + network + "' already");
    if (i == 0) {
      if (network != "bridge") p.run.insert(p.run.end(), {"--network", network});
      if (!ip.empty()) p.run.insert(p.run.end(), {"--ip", ip});
      if (!mac.empty()) p.run.insert(p.run.end(), {"--mac-address", mac});
    } else {
      if (!mac.empty()) return fail(Errc::unsupported, where + ".hwaddr: only the first nic's MAC address can be chosen");
      p.joins.push_back({network, ip});
    }
  }
  return {};
}

}  // namespace

Result<ZosContainerPlan> plan_zos_container(const ZosContainerRequest& r) {
  if (r.name.empty()) return fail(Errc::invalid_input, "--name: the container needs a name");
  if (r.root.empty()) return fail(Errc::invalid_input, "--root: the container needs an flist (a hub URL, an .fl URL or an image)");
  json extra = json::object();
  if (!r.extraconfig.empty()) {
    extra = json::parse(r.extraconfig, nullptr, false);
    if (extra.is_discarded() || !extra.is_object()) return fail(Errc::invalid_input, "--extraconfig: expected a JSON object");
  }
  ZosContainerPlan p;
  std::string hostname = r.hostname.empty() ? r.name : r.hostname;
  bool privileged = r.privileged, host_network = false;
  static const std::set<std::string> known = {
      "mount", "host_network", "nics", "port", "env", "cgroups", "config", "hostname", "privileged", "storage", "identity"};
  for (const auto& [k, v] : extra.items()) {
    if (!known.contains(k))
      return fail(Errc::invalid_input,
          "--extraconfig: unknown key '" + k + "' (known: mount, host_network, nics, port, env, cgroups, config, hostname, privileged)");
    if (k == "host_network") {
      if (!v.is_boolean()) return fail(Errc::invalid_input, "extraconfig.host_network: expected a boolean");
      host_network = v.get<bool>();
    } else if (k == "hostname") {
      if (!v.is_string()) return fail(Errc::invalid_input, "extraconfig.hostname: expected a string");
      if (!v.get<std::string>().empty()) hostname = v.get<std::string>();
    } else if (k == "privileged") {
      if (!v.is_boolean()) return fail(Errc::invalid_input, "extraconfig.privileged: expected a boolean");
      privileged = privileged || v.get<bool>();
    } else if (k == "storage") {
      if (!v.is_null() && !(v.is_string() && v.get<std::string>().empty()))
        return fail(Errc::unsupported,
            "extraconfig.storage: not supported by tiffin (an flist's blocks come from its own routes, or the hub it came from)");
    } else if (k == "identity") {
      if (!v.is_null() && !(v.is_string() && v.get<std::string>().empty()))
        return fail(Errc::unsupported, "extraconfig.identity: zerotier identities are not supported by tiffin");
    }
  }

  p.run = {"run", "-d", "-i", "--name", r.name};
  // With the host's network the container has the host's name (its UTS namespace goes with it).
  if (!host_network) p.run.insert(p.run.end(), {"--hostname", hostname});
  else if (hostname != r.name) p.notes.push_back("hostname: ignored with host_network (the container has the host's)");
  if (privileged) p.run.push_back("--privileged");

  // Networks and ports: with the host's network Zero-OS ignored nics and ports, without a word.
  if (host_network) {
    p.run.insert(p.run.end(), {"--network", "host"});
    if (extra.contains("nics")) p.notes.push_back("extraconfig.nics: ignored with host_network, as Zero-OS did");
    if (extra.contains("port") || !r.ports.empty()) p.notes.push_back("ports: ignored with host_network, as Zero-OS did");
  } else {
    if (extra.contains("nics")) TRY(plan_nics(p, extra["nics"]));
    for (const auto& spec : comma_list(r.ports)) {
      if (spec.find(':') == std::string::npos) return fail(Errc::invalid_input, "--ports: '" + spec + "' is not host:container");
      p.run.insert(p.run.end(), {"-p", spec});
    }
    if (extra.contains("port")) {
      const json& ports = extra["port"];
      if (!ports.is_object()) return fail(Errc::invalid_input, "extraconfig.port: expected an object {\"host port\": container port}");
      for (const auto& [host, ctr] : ports.items()) {
        if (host.empty()) return fail(Errc::invalid_input, "extraconfig.port: an empty host port");
        p.run.insert(p.run.end(), {"-p", host + ":" + TRY(port_text(ctr, "extraconfig.port." + host))});
      }
    }
  }

  for (const auto& kv : comma_list(r.env)) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) return fail(Errc::invalid_input, "--env: '" + kv + "' is not KEY=VALUE");
    TRY(add_env(p, kv.substr(0, eq), kv.substr(eq + 1), "--env"));
  }
  if (extra.contains("env")) {
    const json& env = extra["env"];
    if (!env.is_object()) return fail(Errc::invalid_input, "extraconfig.env: expected an object {\"NAME\": \"value\"}");
    for (const auto& [k, v] : env.items()) {
      if (!v.is_string()) return fail(Errc::invalid_input, "extraconfig.env." + k + ": expected a string");
      TRY(add_env(p, k, v.get<std::string>(), "extraconfig.env"));
    }
  }

  if (extra.contains("mount")) {
    const json& mounts = extra["mount"];
    if (!mounts.is_object()) return fail(Errc::invalid_input, "extraconfig.mount: expected an object {\"host path\": \"container path\"}");
    for (const auto& [src, dst] : mounts.items()) {
      std::string where = "extraconfig.mount." + src;
      if (!dst.is_string() || !dst.get<std::string>().starts_with("/"))
        return fail(Errc::invalid_input, where + ": expected an absolute path in the container");
      if (is_url(src))
        return fail(Errc::unsupported, where +
                                           ": mounting an flist as a volume is not supported by tiffin (run it as a container's --root, "
                                           "or unpack it on the node and mount that directory)");
      if (!src.starts_with("/") || src.find(':') != std::string::npos || dst.get<std::string>().find(':') != std::string::npos)
        return fail(Errc::invalid_input, where + ": expected an absolute host path (without ':')");
      p.run.insert(p.run.end(), {"-v", src + ":" + dst.get<std::string>()});
    }
  }

  if (extra.contains("cgroups")) {
    const json& cg = extra["cgroups"];
    if (!cg.is_array()) return fail(Errc::invalid_input, "extraconfig.cgroups: expected a list of [subsystem, name]");
    if (!cg.empty())
      return fail(
          Errc::unsupported, "extraconfig.cgroups: named cgroups are not supported by tiffin (each container has a cgroup of its own)");
  }

  if (extra.contains("config")) {
    const json& files = extra["config"];
    if (!files.is_object()) return fail(Errc::invalid_input, "extraconfig.config: expected an object {\"/path\": \"content\"}");
    for (const auto& [path, content] : files.items()) {
      if (!path.starts_with("/") || path.ends_with("/"))
        return fail(Errc::invalid_input, "extraconfig.config: '" + path + "' is not an absolute file path");
      if (!content.is_string())
        return fail(Errc::invalid_input, "extraconfig.config." + path + ": expected the file's content as a string");
      if (content.get<std::string>().find('\0') != std::string::npos)
        return fail(Errc::invalid_input, "extraconfig.config." + path + ": a NUL byte cannot be written this way");
      p.files[path] = content.get<std::string>();
    }
  }

  p.run.push_back(r.root);
  return p;
}

}  // namespace tiffin::cli
