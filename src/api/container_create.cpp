#include "api/container_create.hpp"

#include "common/json_fields.hpp"
#include "engine/engine.hpp"

namespace tiffin::api {

using json = nlohmann::json;
namespace jf = tiffin::json_fields;

namespace {

const std::string kWhere = "container config";

std::string fmt_octal(uint64_t v) {
  std::string out;
  do {
    out.insert(out.begin(), static_cast<char>('0' + (v & 7)));
    v >>= 3;
  } while (v);
  return "0" + out;
}

// A docker list of strings that may also be one string (Cmd and Entrypoint are, in old clients).
Result<std::optional<std::vector<std::string>>> command(const json& obj, std::string_view key) {
  const json* v = jf::field(obj, key);
  if (!v) return std::optional<std::vector<std::string>>();
  if (v->is_string()) return std::optional<std::vector<std::string>>(std::vector<std::string>{v->get<std::string>()});
  return std::optional<std::vector<std::string>>(TRY(jf::strings(obj, key, kWhere)));
}

// docker's restart policy object as tiffin's text ("on-failure:3").
Result<std::string> restart_from_docker(const json& p) {
  if (!p.is_object()) return jf::wrong(kWhere, "RestartPolicy", "an object");
  std::string name = TRY(jf::string(p, "Name", "RestartPolicy"));
  int64_t retries = TRY(jf::integer(p, "MaximumRetryCount", "RestartPolicy"));
  if (name.empty()) return std::string();  // none given: docker shows Name ""
  if (name == "no") return std::string("no");
  if (name == "on-failure") return retries > 0 ? "on-failure:" + std::to_string(retries) : std::string("on-failure");
  if (name == "always" || name == "unless-stopped") return name;
  return fail(Errc::invalid_input, "invalid restart policy '" + name + "'");
}

Result<void> host_config(const json& h, engine::ContainerConfig& c) {
  const std::string where = "HostConfig";
  if (!h.is_object()) return jf::wrong(kWhere, "HostConfig", "an object");
  c.volumes = TRY(jf::strings(h, "Binds", where));
  if (const json* mounts = jf::field(h, "Mounts")) {
    if (!mounts->is_array()) return jf::wrong(where, "Mounts", "a list");
    for (const auto& m : *mounts) {
      std::string type = TRY(jf::string(m, "Type", "mount", true));
      std::string source = TRY(jf::string(m, "Source", "mount"));
      std::string target = TRY(jf::string(m, "Target", "mount", true));
      bool ro = TRY(jf::boolean(m, "ReadOnly", "mount"));
      if (type == "bind" || type == "volume") {
        bool nocopy = false;
        if (const json* vo = jf::field(m, "VolumeOptions")) nocopy = TRY(jf::boolean(*vo, "NoCopy", "VolumeOptions"));
        if (type == "volume" && source.empty()) {
          source = TRY(engine::random_id());
          c.anonymous_volumes.push_back(source);
        }
        std::string options = std::string(ro ? "ro" : "rw") + (nocopy ? ",nocopy" : "");
        c.volumes.push_back(source + ":" + target + ":" + options);
      } else if (type == "tmpfs") {
        std::string options;
        if (const json* to = jf::field(m, "TmpfsOptions")) {
          if (auto size = TRY(jf::unsigned_number(*to, "SizeBytes", "TmpfsOptions"))) options += "size=" + std::to_string(*size);
          if (auto mode = TRY(jf::unsigned_number(*to, "Mode", "TmpfsOptions")))
            options += std::string(options.empty() ? "" : ",") + "mode=" + fmt_octal(*mode);
        }
        c.tmpfs.push_back(target + (options.empty() ? "" : ":" + options));
      } else {
        return fail(Errc::invalid_input, "mount type '" + type + "' is not supported (bind, volume or tmpfs)");
      }
    }
  }
  if (const json* t = jf::field(h, "Tmpfs")) {
    if (!t->is_object()) return jf::wrong(where, "Tmpfs", "an object");
    for (const auto& [path, opts] : t->items()) {
      if (!opts.is_string()) return jf::wrong(where, "Tmpfs." + path, "a string");
      std::string o = opts.get<std::string>();
      c.tmpfs.push_back(path + (o.empty() ? "" : ":" + o));
    }
  }
  std::string mode = TRY(jf::string(h, "NetworkMode", where));
  if (!mode.empty() && mode != "default") c.network = mode;
  if (const json* pb = jf::field(h, "PortBindings")) {
    if (!pb->is_object()) return jf::wrong(where, "PortBindings", "an object");
    for (const auto& [port, bindings] : pb->items()) {
      if (bindings.is_null() || (bindings.is_array() && bindings.empty())) {
        c.publish.push_back(port);
        continue;
      }
      if (!bindings.is_array()) return jf::wrong(where, "PortBindings." + port, "a list");
      for (const auto& b : bindings) {
        std::string ip = TRY(jf::string(b, "HostIp", "port binding"));
        std::string host_port = TRY(jf::string(b, "HostPort", "port binding"));
        if (ip.find(':') != std::string::npos) ip = "[" + ip + "]";
        std::string spec = ip.empty() ? (host_port.empty() ? "" : host_port + ":") : ip + ":" + host_port + ":";
        c.publish.push_back(spec + port);
      }
    }
  }
  c.publish_all = TRY(jf::boolean(h, "PublishAllPorts", where));
  if (const json* rp = jf::field(h, "RestartPolicy")) c.restart = TRY(restart_from_docker(*rp));
  c.auto_remove = TRY(jf::boolean(h, "AutoRemove", where));
  c.cap_add = TRY(jf::strings(h, "CapAdd", where));
  c.cap_drop = TRY(jf::strings(h, "CapDrop", where));
  c.privileged = TRY(jf::boolean(h, "Privileged", where));
  c.read_only = TRY(jf::boolean(h, "ReadonlyRootfs", where));
  c.dns = TRY(jf::strings(h, "Dns", where));
  c.dns_search = TRY(jf::strings(h, "DnsSearch", where));
  c.dns_options = TRY(jf::strings(h, "DnsOptions", where));
  c.add_hosts = TRY(jf::strings(h, "ExtraHosts", where));
  c.memory = TRY(jf::integer(h, "Memory", where));
  int64_t nano = TRY(jf::integer(h, "NanoCpus", where));
  int64_t quota = TRY(jf::integer(h, "CpuQuota", where)), period = TRY(jf::integer(h, "CpuPeriod", where));
  if (nano > 0) c.cpus = static_cast<double>(nano) / 1e9;
  else if (quota > 0) c.cpus = static_cast<double>(quota) / static_cast<double>(period > 0 ? period : 100000);
  int64_t pids = TRY(jf::integer(h, "PidsLimit", where));
  c.pids_limit = pids > 0 ? pids : 0;  // 0 and -1: unlimited
  c.shm_size = TRY(jf::integer(h, "ShmSize", where));
  c.init = TRY(jf::boolean(h, "Init", where));
  std::vector<std::string> from = TRY(jf::strings(h, "VolumesFrom", where));
  if (!from.empty()) return fail(Errc::invalid_input, "--volumes-from is not supported");
  return {};
}

}  // namespace

Result<engine::ContainerConfig> config_from_create(const json& body, const std::string& name) {
  if (!body.is_object()) return fail(Errc::invalid_input, "the request body is not a JSON object");
  engine::ContainerConfig c;
  c.name = name.starts_with("/") ? name.substr(1) : name;
  c.restart.clear();  // no RestartPolicy: docker's Name "" (the CLI sends "no")
  c.image = TRY(jf::string(body, "Image", kWhere, true));
  if (c.image.empty()) return fail(Errc::invalid_input, "no image given");
  c.cmd = TRY(command(body, "Cmd")).value_or(std::vector<std::string>{});
  if (auto ep = TRY(command(body, "Entrypoint"))) {
    // [] and [""] reset the image's entrypoint (docker's --entrypoint "").
    if (ep->empty() || (ep->size() == 1 && ep->front().empty())) c.entrypoint = std::vector<std::string>{};
    else c.entrypoint = *ep;
  }
  c.env = TRY(jf::strings(body, "Env", kWhere));
  c.user = TRY(jf::string(body, "User", kWhere));
  c.workdir = TRY(jf::string(body, "WorkingDir", kWhere));
  c.hostname = TRY(jf::string(body, "Hostname", kWhere));
  c.tty = TRY(jf::boolean(body, "Tty", kWhere));
  c.interactive = TRY(jf::boolean(body, "OpenStdin", kWhere));
  c.labels = TRY(jf::string_map(body, "Labels", kWhere));
  c.stop_signal = TRY(jf::string(body, "StopSignal", kWhere));
  c.mac_address = TRY(jf::string(body, "MacAddress", kWhere));
  if (const json* h = jf::field(body, "Healthcheck")) c.healthcheck = TRY(healthcheck_from_docker(*h, "Healthcheck"));
  if (const json* hc = jf::field(body, "HostConfig")) TRY(host_config(*hc, c));
  // Config.Volumes: `docker run -v /path`, an anonymous volume each.
  for (const auto& path : TRY(jf::key_set(body, "Volumes", kWhere))) {
    bool mounted = false;
    for (const auto& v : c.volumes) mounted = mounted || engine::parse_volume_spec(v).value_or(engine::VolumeSpec{}).target == path;
    if (mounted) continue;
    std::string id = TRY(engine::random_id());
    c.volumes.push_back(id + ":" + path);
    c.anonymous_volumes.push_back(id);
  }
  if (const json* nc = jf::field(body, "NetworkingConfig")) {
    if (const json* eps = jf::field(*nc, "EndpointsConfig")) {
      if (!eps->is_object()) return jf::wrong("NetworkingConfig", "EndpointsConfig", "an object");
      for (const auto& [network, ep] : eps->items()) {
        // The endpoint of the network the container joins (compose names it by the network).
        if (network != c.network && !(c.network == "bridge" && eps->size() == 1)) continue;
        if (c.network == "bridge" && network != "bridge") c.network = network;
        c.network_aliases = TRY(jf::strings(ep, "Aliases", "endpoint"));
        if (const json* ipam = jf::field(ep, "IPAMConfig")) {
          c.ip = TRY(jf::string(*ipam, "IPv4Address", "IPAMConfig"));
          c.ip6 = TRY(jf::string(*ipam, "IPv6Address", "IPAMConfig"));
        }
        std::string mac = TRY(jf::string(ep, "MacAddress", "endpoint"));
        if (!mac.empty()) c.mac_address = mac;
      }
    }
  }
  TRY(engine::validate_container_config(c));
  return c;
}

}  // namespace tiffin::api
