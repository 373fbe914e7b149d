#include "engine/container_config.hpp"
#include "engine/corex_mode.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/text.hpp"
#include "net/port_spec.hpp"
#include "runtime/capabilities.hpp"
#include "runtime/secure_defaults.hpp"
#include "shim/redis_url.hpp"
#include "shim/restart_policy.hpp"
#include "common/default_path.hpp"

namespace tiffin::engine {

using json = nlohmann::json;

json container_config_to_json(const ContainerConfig& c) {
  json j = {{"name", c.name}, {"image", c.image}, {"cmd", c.cmd}, {"env", c.env}, {"workdir", c.workdir}, {"user", c.user},
      {"hostname", c.hostname}, {"cpus", c.cpus}, {"memory", c.memory}, {"pids_limit", c.pids_limit}, {"disk_size_mib", c.disk_size_mib},
      {"disk_type", c.disk_type}, {"restart", c.restart}, {"tty", c.tty}, {"interactive", c.interactive}, {"auto_remove", c.auto_remove},
      {"read_only", c.read_only}, {"privileged", c.privileged}, {"network", c.network}, {"volumes", c.volumes}, {"cap_add", c.cap_add},
      {"cap_drop", c.cap_drop}, {"log_stdout", c.log_stdout}, {"log_stderr", c.log_stderr}, {"stats_redis", c.stats_redis}, {"ip", c.ip},
      {"ip6", c.ip6}, {"network_aliases", c.network_aliases}, {"mac_address", c.mac_address}, {"publish", c.publish},
      {"publish_all", c.publish_all}, {"add_hosts", c.add_hosts}, {"dns", c.dns}, {"dns_search", c.dns_search},
      {"dns_options", c.dns_options}, {"stop_signal", c.stop_signal}};
  if (c.public_ip6) j["public_ip6"] = true;
  j["entrypoint"] = c.entrypoint ? json(*c.entrypoint) : json(nullptr);
  if (!c.anonymous_volumes.empty()) j["anonymous_volumes"] = c.anonymous_volumes;
  if (!c.tmpfs.empty()) j["tmpfs"] = c.tmpfs;
  if (c.shm_size) j["shm_size"] = c.shm_size;
  if (c.init) j["init"] = true;
  if (c.corex) j["corex"] = true;
  if (!c.lower_dirs.empty()) j["lower_dirs"] = c.lower_dirs;
  if (!c.secret_env_keys.empty()) j["secret_env_keys"] = c.secret_env_keys;
  if (!c.labels.empty()) j["labels"] = c.labels;
  const Healthcheck& h = c.healthcheck;
  if (h != Healthcheck{})
    j["healthcheck"] = {{"test", h.test}, {"interval", h.interval_ns}, {"timeout", h.timeout_ns}, {"start_period", h.start_period_ns},
        {"start_interval", h.start_interval_ns}, {"retries", h.retries}};
  return j;
}

Result<ContainerConfig> container_config_from_json(const json& j) {
  try {
    ContainerConfig c;
    c.name = j.value("name", "");
    c.image = j.value("image", "");
    c.cmd = j.value("cmd", std::vector<std::string>{});
    if (j.contains("entrypoint") && !j["entrypoint"].is_null()) c.entrypoint = j["entrypoint"].get<std::vector<std::string>>();
    c.env = j.value("env", std::vector<std::string>{});
    c.workdir = j.value("workdir", "");
    c.user = j.value("user", "");
    c.hostname = j.value("hostname", "");
    c.cpus = j.value("cpus", 0.0);
    c.memory = j.value("memory", int64_t(0));
    c.pids_limit = j.value("pids_limit", int64_t(0));
    c.disk_size_mib = j.value("disk_size_mib", uint64_t(0));
    c.disk_type = j.value("disk_type", "ssd");
    c.restart = j.value("restart", "no");
    c.stop_signal = j.value("stop_signal", "");
    c.tty = j.value("tty", false);
    c.interactive = j.value("interactive", false);
    c.auto_remove = j.value("auto_remove", false);
    c.read_only = j.value("read_only", false);
    c.privileged = j.value("privileged", false);
    c.network = j.value("network", "none");
    c.volumes = j.value("volumes", std::vector<std::string>{});
    c.cap_add = j.value("cap_add", std::vector<std::string>{});
    c.cap_drop = j.value("cap_drop", std::vector<std::string>{});
    c.log_stdout = j.value("log_stdout", "");
    c.lower_dirs = j.value("lower_dirs", std::vector<std::string>{});
    c.log_stderr = j.value("log_stderr", "");
    c.stats_redis = j.value("stats_redis", "");
    c.secret_env_keys = j.value("secret_env_keys", std::vector<std::string>{});
    c.ip = j.value("ip", "");
    c.ip6 = j.value("ip6", "");
    c.network_aliases = j.value("network_aliases", std::vector<std::string>{});
    c.mac_address = j.value("mac_address", "");
    c.public_ip6 = j.value("public_ip6", false);
    c.publish = j.value("publish", std::vector<std::string>{});
    c.publish_all = j.value("publish_all", false);
    c.add_hosts = j.value("add_hosts", std::vector<std::string>{});
    c.dns = j.value("dns", std::vector<std::string>{});
    c.dns_search = j.value("dns_search", std::vector<std::string>{});
    c.dns_options = j.value("dns_options", std::vector<std::string>{});
    c.anonymous_volumes = j.value("anonymous_volumes", std::vector<std::string>{});
    c.tmpfs = j.value("tmpfs", std::vector<std::string>{});
    c.shm_size = j.value("shm_size", int64_t(0));
    c.init = j.value("init", false);
    c.corex = j.value("corex", false);
    c.labels = j.value("labels", std::map<std::string, std::string>{});
    if (j.contains("healthcheck")) {
      const json& h = j["healthcheck"];
      c.healthcheck = {h.at("test").get<std::vector<std::string>>(), h.at("interval").get<int64_t>(), h.at("timeout").get<int64_t>(),
          h.at("start_period").get<int64_t>(), h.at("start_interval").get<int64_t>(), h.at("retries").get<int>()};
    }
    return c;
  } catch (const json::exception& e) {
    return fail(Errc::corrupt, std::string("container config: ") + e.what());
  }
}

void set_env(std::vector<std::string>& env, const std::string& kv) {
  std::string key = kv.substr(0, kv.find('='));
  auto it = std::find_if(env.begin(), env.end(), [&](const std::string& e) { return e.substr(0, e.find('=')) == key; });
  if (it != env.end()) *it = kv;
  else env.push_back(kv);
}

bool valid_container_name(const std::string& n) {
  if (n.empty() || n.size() > 128 || !std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](unsigned char ch) { return std::isalnum(ch) || ch == '_' || ch == '.' || ch == '-'; });
}

Result<VolumeSpec> parse_volume_spec(const std::string& text) {
  auto bad = [&](const std::string& why) { return fail(Errc::invalid_input, "volume '" + text + "': " + why); };
  VolumeSpec v;
  std::vector<std::string> parts = split(text, ':');
  if (parts.size() < 2 || parts.size() > 3) return bad("expected source:/destination[:ro|rw|nocopy]");
  v.source = parts[0];
  v.target = parts[1];
  if (parts.size() == 3) {
    for (const auto& option : split(parts[2], ',')) {
      if (option == "ro") v.read_only = true;
      else if (option == "nocopy") v.no_copy = true;
      else if (option != "rw") return bad("unknown option '" + option + "': use ro, rw or nocopy");
    }
  }
  if (v.source.empty()) return bad("no source");
  if (!v.target.starts_with("/")) return bad("the destination must be an absolute path");
  if (v.target == "/") return bad("cannot mount over the container's root");
  for (const std::string& p : {v.source, v.target}) {
    if (p.starts_with("/") && (p.find("/../") != std::string::npos || p.ends_with("/.."))) return bad("'..' is not allowed in paths");
  }
  if (!v.named() && v.source.find(',') != std::string::npos) return bad("',' is not allowed in a host path");
  if (v.named() && !valid_container_name(v.source)) return bad("'" + v.source + "' is not a valid volume name");
  return v;
}

shim::HealthSettings health_settings(const ContainerConfig& c, const ImageConfig& image) {
  const Healthcheck& mine = c.healthcheck;
  const Healthcheck& theirs = image.healthcheck;
  const auto& test = mine.test.empty() ? theirs.test : mine.test;
  shim::HealthSettings s;
  if (test.empty()) return s;
  if (test[0] == "CMD") s.command.assign(test.begin() + 1, test.end());
  else if (test[0] == "CMD-SHELL" && test.size() >= 2) s.command = {"/bin/sh", "-c", test[1]};
  using std::chrono::milliseconds, std::chrono::nanoseconds;
  auto pick = [](int64_t mine_ns, int64_t theirs_ns, milliseconds fallback) {
    int64_t ns = mine_ns ? mine_ns : theirs_ns;
    return ns ? std::max(milliseconds(1), std::chrono::duration_cast<milliseconds>(nanoseconds(ns))) : fallback;
  };
  s.interval = pick(mine.interval_ns, theirs.interval_ns, s.interval);
  s.timeout = pick(mine.timeout_ns, theirs.timeout_ns, s.timeout);
  s.start_period = pick(mine.start_period_ns, theirs.start_period_ns, s.start_period);
  s.start_interval = pick(mine.start_interval_ns, theirs.start_interval_ns, s.start_interval);
  s.retries = mine.retries ? mine.retries : theirs.retries ? theirs.retries : s.retries;
  return s;
}

Result<runtime::Mount> parse_tmpfs_spec(const std::string& text) {
  size_t colon = text.find(':');
  std::string target = text.substr(0, colon);
  if (!target.starts_with("/") || target == "/" || target.find("/../") != std::string::npos || target.ends_with("/.."))
    return fail(Errc::invalid_input, "tmpfs '" + text + "': the destination must be an absolute path below /");
  runtime::Mount m{target, "tmpfs", "tmpfs", {"nosuid", "nodev", "noexec"}};
  if (colon != std::string::npos) {
    for (const auto& o : split(text.substr(colon + 1), ',')) {
      if (o.empty()) continue;
      // docker's: the mount options tmpfs takes, and the flags that undo the defaults.
      static const char* known[] = {
          "ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "size=", "mode=", "uid=", "gid=", "nr_inodes=", "nr_blocks="};
      bool ok = false;
      for (const char* k : known) ok = ok || (std::string_view(k).ends_with("=") ? o.starts_with(k) : o == k);
      if (!ok) return fail(Errc::invalid_input, "tmpfs '" + text + "': unknown option '" + o + "'");
      for (const char* pair : {"exec", "suid", "dev"})
        if (o == pair || o == std::string("no") + pair)
          std::erase_if(m.options, [&](const std::string& x) { return x == pair || x == std::string("no") + pair; });
      m.options.push_back(o);
    }
  }
  return m;
}

NetworkMode network_mode(const ContainerConfig& c) {
  if (c.network == "none") return NetworkMode::none;
  if (c.network == "host") return NetworkMode::host;
  if (c.network.starts_with("container:")) return NetworkMode::container;
  return NetworkMode::bridge;
}

std::string network_container(const ContainerConfig& c) { return c.network.substr(std::string_view("container:").size()); }

namespace {

Result<void> validate_network_options(const ContainerConfig& c) {
  NetworkMode mode = network_mode(c);
  if (mode == NetworkMode::host && !c.hostname.empty())
    return fail(Errc::invalid_input, "conflicting options: --hostname and --network host");
  if (mode == NetworkMode::container && network_container(c).empty())
    return fail(Errc::invalid_input, "--network container: needs a container's name or id");
  if (mode == NetworkMode::bridge && !valid_container_name(c.network))
    return fail(Errc::invalid_input, "invalid network name '" + c.network + "'");
  if (mode != NetworkMode::bridge) {
    const char* what = !c.publish.empty() || c.publish_all ? "-p"
                       : !c.ip.empty() || !c.ip6.empty()   ? "--ip"
                       : !c.network_aliases.empty()        ? "--network-alias"
                       : !c.mac_address.empty()            ? "--mac-address"
                       : c.public_ip6                      ? "--public-ip6"
                                                           : nullptr;
    if (what) return fail(Errc::invalid_input, std::string(what) + " needs a bridge network, not --network " + c.network);
  }
  if (mode == NetworkMode::container && (!c.dns.empty() || !c.add_hosts.empty() || !c.hostname.empty()))
    return fail(
        Errc::invalid_input, "--dns, --add-host and --hostname cannot go with --network " + c.network + " (it has that container's)");
  if (!c.ip.empty()) {
    auto a = TRY(net::IpAddress::parse(c.ip));
    if (!a.is_v4()) return fail(Errc::invalid_input, "--ip " + c.ip + " is not IPv4 (use --ip6)");
  }
  if (!c.ip6.empty() && TRY(net::IpAddress::parse(c.ip6)).is_v4()) return fail(Errc::invalid_input, "--ip6 " + c.ip6 + " is not IPv6");
  if (!c.mac_address.empty()) TRY(net::parse_mac(c.mac_address));
  for (const auto& a : c.network_aliases)
    if (!valid_container_name(a)) return fail(Errc::invalid_input, "invalid network alias '" + a + "'");
  for (const auto& p : c.publish) TRY(net::expand_port_spec(TRY(net::parse_port_spec(p))));
  for (const auto& h : c.add_hosts) TRY(parse_add_host(h));
  for (const auto& d : c.dns) TRY(net::IpAddress::parse(d));
  return {};
}

}  // namespace

Result<net::HostsEntry> parse_add_host(const std::string& text) {
  // docker: name:ip, the address may be IPv6 (so split at the first ':'); name=ip too.
  auto sep = text.find_first_of(":=");
  if (sep == std::string::npos || sep == 0) return fail(Errc::invalid_input, "--add-host " + printable(text) + ": expected name:ip");
  std::string name = text.substr(0, sep), addr = text.substr(sep + 1);
  if (addr.starts_with('[') && addr.ends_with(']')) addr = addr.substr(1, addr.size() - 2);
  auto ip = TRY_CTX(net::IpAddress::parse(addr), "--add-host " + printable(text));
  return net::HostsEntry{ip.str(), {name}};
}

Result<void> validate_container_config(const ContainerConfig& c) {
  if (!c.name.empty() && !valid_container_name(c.name))
    return fail(Errc::invalid_input, "invalid container name '" + c.name + "': use [a-zA-Z0-9][a-zA-Z0-9_.-]*");
  if (c.memory < 0 || (c.memory > 0 && c.memory < (6 << 20))) return fail(Errc::invalid_input, "minimum memory limit allowed is 6 MiB");
  if (c.cpus < 0 || !std::isfinite(c.cpus)) return fail(Errc::invalid_input, "--cpus must be a positive number");
  if (c.pids_limit < 0) return fail(Errc::invalid_input, "--pids-limit must be positive");
  TRY(validate_network_options(c));
  if (c.disk_type != "ssd" && c.disk_type != "hdd")
    return fail(Errc::invalid_input, "disk type '" + c.disk_type + "' is neither ssd nor hdd");
  if (c.disk_size_mib != 0 && c.disk_size_mib < 8) return fail(Errc::invalid_input, "--disk-size must be at least 8 MiB");
  for (const auto& d : c.lower_dirs)
    if (!d.starts_with('/') || d.find_first_of(",:\\") != std::string::npos)
      return fail(Errc::invalid_input, "a lower directory must be an absolute path without ',', ':' or '\\': " + d);
  TRY(shim::parse_restart_policy(c.restart));
  if (c.auto_remove && c.restart != "no" && !c.restart.empty()) return fail(Errc::invalid_input, "conflicting options: --restart and --rm");
  if (c.corex && (c.init || c.tty))
    return fail(
        Errc::invalid_input, "conflicting options: --corex runs coreX as pid 1, without --init or -t (its terminals are on the web)");
  if (c.corex && c.network == "none") return fail(Errc::invalid_input, "--corex listens on the container's eth0: --network none has none");
  for (const auto& v : c.volumes) TRY(parse_volume_spec(v));
  for (const auto& t : c.tmpfs) TRY(parse_tmpfs_spec(t));
  if (c.shm_size < 0) return fail(Errc::invalid_input, "the size of /dev/shm cannot be negative");
  const Healthcheck& h = c.healthcheck;
  if (!h.test.empty() && h.test[0] != "NONE" && h.test[0] != "CMD" && h.test[0] != "CMD-SHELL")
    return fail(Errc::invalid_input, "a health check's test starts with NONE, CMD or CMD-SHELL, not '" + h.test[0] + "'");
  if ((h.test.size() == 1 && h.test[0] != "NONE") || (h.test.size() > 0 && h.test[0] == "CMD-SHELL" && h.test.size() != 2))
    return fail(Errc::invalid_input, "the health check has no command");
  for (auto [name, ns] : {std::pair{"interval", h.interval_ns}, {"timeout", h.timeout_ns}, {"start period", h.start_period_ns},
           {"start interval", h.start_interval_ns}})
    if (ns < 0 || (ns > 0 && ns < 1000000))
      return fail(Errc::invalid_input, std::string("the health check's ") + name + " must be at least 1ms");
  if (h.retries < 0) return fail(Errc::invalid_input, "--health-retries cannot be negative");
  for (const auto& e : c.env)
    if (e.empty() || e[0] == '=') return fail(Errc::invalid_input, "invalid environment variable '" + e + "'");
  for (const auto& u : {c.log_stdout, c.log_stderr, c.stats_redis})
    if (!u.empty()) TRY(shim::parse_redis_url(u));
  for (const auto& cap : c.cap_add)
    if (cap != "ALL" && !runtime::known_capability(cap.starts_with("CAP_") ? cap : "CAP_" + cap))
      return fail(Errc::invalid_input, "unknown capability '" + cap + "'");
  for (const auto& cap : c.cap_drop)
    if (cap != "ALL" && !runtime::known_capability(cap.starts_with("CAP_") ? cap : "CAP_" + cap))
      return fail(Errc::invalid_input, "unknown capability '" + cap + "'");
  return {};
}

std::vector<std::string> container_args(const ContainerConfig& c, const ImageConfig& image) {
  // docker: --entrypoint replaces the image's entrypoint and drops its cmd; user args replace cmd.
  std::vector<std::string> entry = c.entrypoint ? *c.entrypoint : image.entrypoint;
  std::vector<std::string> cmd = !c.cmd.empty() ? c.cmd : (c.entrypoint ? std::vector<std::string>{} : image.cmd);
  entry.insert(entry.end(), cmd.begin(), cmd.end());
  return entry;
}

namespace {

std::string canonical_cap(std::string cap) {
  std::transform(cap.begin(), cap.end(), cap.begin(), [](unsigned char ch) { return std::toupper(ch); });
  return cap.starts_with("CAP_") ? cap : "CAP_" + cap;
}

std::vector<std::string> capability_set(const ContainerConfig& c) {
  std::vector<std::string> caps = c.privileged ? runtime::all_capabilities() : runtime::docker_default_capabilities();
  for (const auto& d : c.cap_drop) {
    if (d == "ALL") caps.clear();
    else std::erase(caps, canonical_cap(d));
  }
  for (const auto& a : c.cap_add) {
    if (a == "ALL") caps = runtime::all_capabilities();
    else if (std::find(caps.begin(), caps.end(), canonical_cap(a)) == caps.end()) caps.push_back(canonical_cap(a));
  }
  return caps;
}

}  // namespace

std::string find_init_binary() {
  for (const char* path : {"/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/libexec/docker/docker-init", "/usr/local/bin/tini-static"})
    if (::access(path, X_OK) == 0) return path;
  return "";
}

Result<runtime::Spec> build_spec(const ContainerConfig& c, const ImageConfig& image, const SpecInputs& in) {
  runtime::Spec spec = runtime::default_spec();
  std::vector<std::string> args = c.corex ? corex_args() : container_args(c, image);
  if (args.empty()) return fail(Errc::invalid_input, "no command: the image has none, give one after the image");

  runtime::Process& p = spec.process;
  p.terminal = c.tty;
  if (c.init) {
    // docker's --init: tini reaps and forwards signals; the program is its child.
    if (in.init_binary.empty()) return fail(Errc::not_found, "--init needs tini-static on the host (the Debian package tini)");
    args.insert(args.begin(), {"/sbin/docker-init", "--"});
    spec.mounts.push_back({"/sbin/docker-init", "bind", in.init_binary, {"bind", "ro", "nosuid", "nodev"}});
  }
  if (c.corex) {
    if (in.corex_binary.empty()) return fail(Errc::not_found, "--corex needs tiffin-corex beside tiffin");
    spec.mounts.push_back({"/corex", "bind", in.corex_binary, {"bind", "ro", "nosuid", "nodev"}});
  }
  p.args = args;
  std::vector<std::string> env = {std::string(kDefaultPathEnv)};
  std::string hostname = c.network == "host" ? "" : (c.hostname.empty() ? in.id.substr(0, 12) : c.hostname);
  if (!hostname.empty()) set_env(env, "HOSTNAME=" + hostname);
  if (c.tty) set_env(env, "TERM=xterm");
  for (const auto& e : image.env) set_env(env, e);
  for (const auto& e : c.env) set_env(env, e);
  p.env = env;
  p.cwd = !c.workdir.empty() ? c.workdir : (!image.workdir.empty() ? image.workdir : "/");
  p.user = {in.uid, in.gid, std::nullopt, in.additional_gids};
  auto caps = capability_set(c);
  p.capabilities = {caps, caps, {}, caps, {}};
  p.no_new_privileges = !c.privileged;
  p.rlimits.clear();  // the node's limits are inherited, as docker does

  spec.root_path = in.rootfs;
  spec.root_readonly = c.read_only;
  spec.hostname = hostname;

  runtime::Linux& linux = spec.linux;
  std::erase_if(
      linux.namespaces, [&](const runtime::Namespace& ns) { return c.network == "host" && (ns.type == "network" || ns.type == "uts"); });
  for (auto& ns : linux.namespaces)
    if (ns.type == "network") ns.path = in.netns;
  linux.cgroups_path = in.cgroups_path;

  runtime::Resources& r = linux.resources;
  if (c.memory > 0) r.memory_limit = c.memory;
  if (c.cpus > 0) r.cpu_quota = static_cast<int64_t>(std::llround(c.cpus * 100000)), r.cpu_period = 100000;
  if (c.pids_limit > 0) r.pids_limit = c.pids_limit;
  if (c.privileged) r.devices = {runtime::DeviceRule{true, "a", "rwm", std::nullopt, std::nullopt}};

  if (c.privileged) {
    linux.seccomp.reset();
    linux.masked_paths.clear();
    linux.readonly_paths.clear();
    // The host's /sys and cgroups writable, as docker's --privileged gives them.
    for (auto& m : spec.mounts)
      if (m.destination == "/sys" || m.destination == "/sys/fs/cgroup") std::erase(m.options, "ro");
  } else {
    linux.seccomp = runtime::default_seccomp(caps);
  }
  if (c.network == "host") {
    // sysfs of another network namespace cannot be mounted; bind the host's.
    for (auto& m : spec.mounts)
      if (m.destination == "/sys") m = {"/sys", "bind", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}};
  }
  if (c.shm_size > 0)
    for (auto& m : spec.mounts)
      if (m.destination == "/dev/shm")
        for (auto& o : m.options)
          if (o.starts_with("size=")) o = "size=" + std::to_string(c.shm_size);
  spec.mounts.insert(spec.mounts.end(), in.mounts.begin(), in.mounts.end());
  for (const auto& text : c.tmpfs) spec.mounts.push_back(TRY(parse_tmpfs_spec(text)));
  spec.annotations = {{"org.tiffin.image", c.image}, {"org.tiffin.name", c.name}};
  return spec;
}

}  // namespace tiffin::engine
