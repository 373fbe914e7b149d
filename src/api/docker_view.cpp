#include "api/docker_view.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <regex>

#include "common/text.hpp"
#include "engine/corex_mode.hpp"
#include "net/port_spec.hpp"
#include "shim/restart_policy.hpp"

namespace tiffin::api {

using json = nlohmann::json;
using shim::ContainerStatus;

namespace {

// "2026-12-06T01:45:41Z" (fractions allowed) → unix seconds; 0 when it is not that.
int64_t parse_rfc3339(const std::string& t) {
  std::tm tm{};
  if (t.size() < 19 || ::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(::timegm(&tm));
}

json string_set(const std::vector<std::string>& keys) {
  json o = json::object();
  for (const auto& k : keys) o[k] = json::object();
  return o;
}

json nullable(const std::vector<std::string>& v) { return v.empty() ? json(nullptr) : json(v); }

// docker's HostConfig.PortBindings from the -p specs.
json port_bindings(const engine::ContainerConfig& c) {
  json out = json::object();
  for (const auto& text : c.publish) {
    auto spec = net::parse_port_spec(text);
    if (!spec) continue;
    for (uint16_t p = spec->ctr_first; p && p <= spec->ctr_last; ++p) {
      std::string key = std::to_string(p) + "/" + net::proto_name(spec->proto);
      uint16_t host = spec->host_first ? static_cast<uint16_t>(spec->host_first + (p - spec->ctr_first)) : 0;
      if (!out.contains(key)) out[key] = json::array();
      out[key].push_back({{"HostIp", spec->host_ip ? spec->host_ip->str() : ""}, {"HostPort", host ? std::to_string(host) : ""}});
      if (p == UINT16_MAX) break;
    }
  }
  return out;
}

json restart_policy(const std::string& text) {
  if (text.empty()) return {{"Name", ""}, {"MaximumRetryCount", 0}};  // none asked for, as docker shows it
  auto p = shim::parse_restart_policy(text).value_or(shim::RestartPolicy{});
  std::string name = p.str();
  if (name.starts_with("on-failure")) name = "on-failure";
  return {{"Name", name}, {"MaximumRetryCount", p.max_retries}};
}

json host_config(const engine::ContainerConfig& c) {
  std::vector<std::string> binds;
  for (const auto& v : c.volumes)
    if (auto spec = engine::parse_volume_spec(v); spec && !spec->named()) binds.push_back(v);
  json tmpfs = json::object();
  for (const auto& t : c.tmpfs) {
    size_t colon = t.find(':');
    tmpfs[t.substr(0, colon)] = colon == std::string::npos ? "" : t.substr(colon + 1);
  }
  std::string mode = c.network == "bridge" ? "bridge" : c.network;
  return {{"Binds", nullable(binds)}, {"NetworkMode", mode}, {"PortBindings", port_bindings(c)},
      {"RestartPolicy", restart_policy(c.restart)}, {"AutoRemove", c.auto_remove}, {"CapAdd", nullable(c.cap_add)},
      {"CapDrop", nullable(c.cap_drop)}, {"Dns", c.dns}, {"DnsOptions", c.dns_options}, {"DnsSearch", c.dns_search},
      {"ExtraHosts", nullable(c.add_hosts)}, {"Privileged", c.privileged}, {"PublishAllPorts", c.publish_all},
      {"ReadonlyRootfs", c.read_only}, {"Init", c.init}, {"Memory", c.memory}, {"NanoCpus", static_cast<int64_t>(c.cpus * 1e9)},
      {"PidsLimit", c.pids_limit ? json(c.pids_limit) : json(nullptr)}, {"Tmpfs", tmpfs},
      {"ShmSize", c.shm_size ? c.shm_size : int64_t(64) << 20}, {"LogConfig", {{"Type", "json-file"}, {"Config", json::object()}}},
      {"Runtime", "tiffin-oci"}};
}

json healthcheck_json(const Healthcheck& h) {
  json j = {{"Test", h.test}};
  if (h.interval_ns) j["Interval"] = h.interval_ns;
  if (h.timeout_ns) j["Timeout"] = h.timeout_ns;
  if (h.start_period_ns) j["StartPeriod"] = h.start_period_ns;
  if (h.start_interval_ns) j["StartInterval"] = h.start_interval_ns;
  if (h.retries) j["Retries"] = h.retries;
  return j;
}

// The image's config under the container's, as docker's Config shows it.
json config_json(const engine::ContainerInfo& info, const ImageConfig& image) {
  const auto& c = info.config;
  std::vector<std::string> env = image.env;
  for (const auto& kv : c.env) engine::set_env(env, kv);
  auto labels = image.labels;
  for (const auto& [k, v] : c.labels) labels[k] = v;
  std::vector<std::string> volumes = image.volumes;
  json j = {{"Hostname", c.hostname.empty() ? engine::short_id(info.id) : c.hostname}, {"Domainname", ""},
      {"User", c.user.empty() ? image.user : c.user}, {"AttachStdin", c.interactive}, {"AttachStdout", true}, {"AttachStderr", true},
      {"ExposedPorts", string_set(image.ports)}, {"Tty", c.tty}, {"OpenStdin", c.interactive}, {"StdinOnce", c.interactive}, {"Env", env},
      {"Cmd", nullable(c.cmd.empty() && !c.entrypoint ? image.cmd : c.cmd)}, {"Image", info.image},
      {"Volumes", volumes.empty() ? json(nullptr) : string_set(volumes)}, {"WorkingDir", c.workdir.empty() ? image.workdir : c.workdir},
      {"Entrypoint", nullable(c.entrypoint ? *c.entrypoint : image.entrypoint)}, {"OnBuild", nullptr}, {"Labels", labels}};
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  const Healthcheck& h = c.healthcheck.test.empty() ? image.healthcheck : c.healthcheck;
  if (!h.test.empty()) j["Healthcheck"] = healthcheck_json(h);
  return j;
}

json state_json(const engine::ContainerInfo& c) {
  const auto& s = c.state;
  json j = {{"Status", shim::status_name(s.status)},
      {"Running", s.status == ContainerStatus::running || s.status == ContainerStatus::paused},
      {"Paused", s.status == ContainerStatus::paused}, {"Restarting", s.status == ContainerStatus::restarting}, {"OOMKilled", false},
      {"Dead", false}, {"Pid", s.pid}, {"ExitCode", s.exit_code}, {"Error", s.error ? s.error->message : ""},
      {"StartedAt", s.started_at.empty() ? "0001-01-01T00:00:00Z" : s.started_at},
      {"FinishedAt", s.finished_at.empty() ? "0001-01-01T00:00:00Z" : s.finished_at}};
  if (!s.health.status.empty()) {
    json log = json::array();
    for (const auto& p : s.health.log) log.push_back({{"Start", p.start}, {"End", p.end}, {"ExitCode", p.exit_code}, {"Output", p.output}});
    j["Health"] = {{"Status", s.health.status}, {"FailingStreak", s.health.failing_streak}, {"Log", log}};
  }
  return j;
}

ImageConfig image_config_of(engine::Engine& e, const engine::ContainerInfo& c) {
  engine::ImageInfo image;
  image.id = c.image_id;
  return e.image_config(image).value_or(ImageConfig{});
}

}  // namespace

std::string rfc3339_nano(int64_t ns) {
  std::string s = rfc3339(ns / 1'000'000'000);
  return s.substr(0, s.size() - 1) + fmt::format(".{:09}Z", ns % 1'000'000'000);
}

std::string rfc3339(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json inspect_json(engine::Engine& e, const engine::ContainerInfo& c) {
  ImageConfig image = image_config_of(e, c);
  auto args = c.config.corex ? engine::corex_args() : engine::container_args(c.config, image);
  std::string dir = e.container_dir(c.id);
  json out = {{"Id", c.id}, {"Created", rfc3339(c.created)}, {"Path", args.empty() ? "" : args.front()},
      {"Args", args.size() > 1 ? std::vector<std::string>(args.begin() + 1, args.end()) : std::vector<std::string>{}},
      {"State", state_json(c)}, {"Image", "sha256:" + c.image_id}, {"ResolvConfPath", dir + "/resolv.conf"},
      {"HostnamePath", dir + "/hostname"}, {"HostsPath", dir + "/hosts"}, {"LogPath", e.log_path(c.id)}, {"Name", "/" + c.name},
      {"RestartCount", c.state.restart_count}, {"Driver", "overlay"}, {"Platform", "linux"}, {"MountLabel", ""}, {"ProcessLabel", ""},
      {"AppArmorProfile", ""}, {"ExecIDs", nullptr}, {"HostConfig", host_config(c.config)}, {"Mounts", mounts_json(e, c)},
      {"Config", config_json(c, image)}, {"NetworkSettings", network_settings_json(e, c)}};
  // An interactive container: where its coreX answers (the token is not kept: run/start print it).
  if (c.config.corex)
    out["TiffinCorex"] = {{"URLs", engine::corex_urls(e, c).value_or(std::vector<std::string>{})}, {"Port", engine::kCorexPort}};
  return out;
}

json list_json(engine::Engine& e, const engine::ContainerInfo& c) { return list_json(e, c, image_config_of(e, c)); }

json list_json(engine::Engine& e, const engine::ContainerInfo& c, const ImageConfig& image) {
  json ports = json::array();
  for (const auto& p : e.container_ports(c.id).value_or(std::vector<net::PublishedPort>{}))
    ports.push_back({{"IP", p.host_ip ? p.host_ip->str() : "0.0.0.0"}, {"PrivatePort", p.ctr_port}, {"PublicPort", p.host_port},
        {"Type", net::proto_name(p.proto)}});
  json settings = network_settings_json(e, c);
  // docker's: the program, then its arguments, those with a space in single quotes.
  std::string command;
  for (const auto& a : engine::container_args(c.config, image)) {
    bool quote = !command.empty() && a.find(' ') != std::string::npos;
    command += (command.empty() ? "" : " ") + (quote ? "'" + a + "'" : a);
  }
  auto labels = image.labels;
  for (const auto& [k, v] : c.config.labels) labels[k] = v;
  return {{"Id", c.id}, {"Names", {"/" + c.name}}, {"Image", c.image}, {"ImageID", c.image_id}, {"Command", command},
      {"Created", c.created}, {"Ports", ports}, {"Labels", labels}, {"State", shim::status_name(c.state.status)},
      {"Status", status_text(c)}, {"HostConfig", {{"NetworkMode", c.config.network}}},
      {"NetworkSettings", {{"Networks", settings["Networks"]}}}, {"Mounts", mounts_json(e, c)}};
}

json mounts_json(engine::Engine& e, const engine::ContainerInfo& c) {
  json out = json::array();
  for (const auto& text : c.config.volumes) {
    auto v = engine::parse_volume_spec(text);
    if (!v) continue;
    // docker's Mode is the options as given ("ro", "rw,nocopy"); a named volume's none are "z".
    size_t first = text.find(':'), second = first == std::string::npos ? first : text.find(':', first + 1);
    std::string mode = second == std::string::npos ? "" : text.substr(second + 1);
    if (mode.empty() && v->named()) mode = "z";
    json m = {{"Type", v->named() ? "volume" : "bind"}, {"Source", v->source}, {"Destination", v->target}, {"Mode", mode},
        {"RW", !v->read_only}, {"Propagation", v->named() ? "" : "rprivate"}};
    if (v->named()) {
      m["Name"] = v->source;
      m["Driver"] = "local";
      if (auto info = e.volume(v->source)) m["Source"] = info->mountpoint;
    }
    out.push_back(std::move(m));
  }
  for (const auto& t : c.config.tmpfs)
    out.push_back(
        {{"Type", "tmpfs"}, {"Source", ""}, {"Destination", t.substr(0, t.find(':'))}, {"Mode", ""}, {"RW", true}, {"Propagation", ""}});
  return out;
}

json network_settings_json(engine::Engine& e, const engine::ContainerInfo& c) {
  json networks = json::object();
  for (const auto& ep : e.container_endpoints(c.id).value_or(std::vector<engine::Endpoint>{})) {
    auto n = e.network(ep.network_id);
    if (!n) continue;
    networks[ep.network_name] = {{"NetworkID", ep.network_id}, {"EndpointID", ep.host_ifname}, {"IPAddress", ep.ip.str()},
        {"IPPrefixLen", n->subnet.prefix()}, {"Gateway", n->gateway.str()}, {"MacAddress", ep.mac}, {"Aliases", ep.aliases},
        {"GlobalIPv6Address", ep.ip6 ? ep.ip6->str() : ""}, {"GlobalIPv6PrefixLen", ep.ip6 ? n->subnet6->prefix() : 0},
        {"IPv6Gateway", ep.ip6 ? n->gateway6->str() : ""}, {"InterfaceName", ep.ifname}, {"HostInterfaceName", ep.host_ifname}};
  }
  json ports = json::object();
  for (const auto& p : e.container_ports(c.id).value_or(std::vector<net::PublishedPort>{})) {
    std::string key = std::to_string(p.ctr_port) + "/" + net::proto_name(p.proto);
    if (!ports.contains(key)) ports[key] = json::array();
    ports[key].push_back({{"HostIp", p.host_ip ? p.host_ip->str() : "0.0.0.0"}, {"HostPort", std::to_string(p.host_port)}});
  }
  json out = {{"Networks", networks}, {"Ports", ports}, {"SandboxKey", c.config.network == "host" ? "" : "/run/netns/" + c.id}};
  // Zero-OS's public IPv6 (--public-ip6), once SLAAC gave one: an interface of its own, `pub`.
  if (c.config.public_ip6 && c.state.pid > 0) {
    json pub = json::array();
    for (const auto& a : e.public_ip6_of(c.id, std::chrono::milliseconds(0)).value_or(std::vector<net::IpAddress>{}))
      pub.push_back(a.str());
    out["PublicIPv6"] = pub;
  }
  // docker's top-level fields: the first network's.
  out["IPAddress"] = "";
  out["IPPrefixLen"] = 0;
  out["Gateway"] = "";
  out["MacAddress"] = "";
  if (!networks.empty()) {
    const auto& first = networks.begin().value();
    for (const char* k : {"IPAddress", "IPPrefixLen", "Gateway", "MacAddress"}) out[k] = first[k];
  }
  return out;
}

json network_json(engine::Engine& e, const engine::Network& n, bool with_containers) {
  json config = json::array();
  config.push_back({{"Subnet", n.subnet.str()}, {"Gateway", n.gateway.str()}, {"IPRange", n.ip_range.str()}});
  if (n.subnet6) config.push_back({{"Subnet", n.subnet6->str()}, {"Gateway", n.gateway6->str()}});
  json j = {{"Name", n.name}, {"Id", n.id}, {"Created", rfc3339(n.created)}, {"Scope", "local"}, {"Driver", n.driver}, {"EnableIPv4", true},
      {"EnableIPv6", n.subnet6.has_value()}, {"Internal", n.internal}, {"Attachable", true}, {"Ingress", false},
      {"IPAM", {{"Driver", "default"}, {"Options", json::object()}, {"Config", config}}}, {"Labels", n.labels},
      {"Options", {{"com.docker.network.bridge.name", n.bridge}}}, {"ConfigOnly", false}};
  if (with_containers) {
    json containers = json::object();
    if (auto eps = e.endpoints_on(n))
      for (const auto& ep : *eps) {
        json c = {{"Name", ""}, {"EndpointID", ep.host_ifname}, {"MacAddress", ep.mac},
            {"IPv4Address", ep.ip.str() + "/" + std::to_string(n.subnet.prefix())},
            {"IPv6Address", ep.ip6 ? ep.ip6->str() + "/" + std::to_string(n.subnet6->prefix()) : ""}, {"Aliases", ep.aliases}};
        if (auto info = e.inspect(ep.container)) c["Name"] = info->name;
        containers[ep.container] = c;
      }
    j["Containers"] = containers;
  }
  return j;
}

bool reference_name_valid(std::string_view name) {
  // distribution/reference's grammar: [domain/]path-component[/path-component]…, the first
  // component a domain when it has a '.' or a ':' or is localhost.
  static const std::regex domain(
      R"((?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?)");
  static const std::regex path(R"([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)");
  if (name.empty() || name.size() > 255) return false;
  std::string n(name);
  size_t slash = n.find('/');
  std::string first = n.substr(0, slash);
  if (slash != std::string::npos && (first.find_first_of(".:") != std::string::npos || first == "localhost"))
    return std::regex_match(first, domain) && std::regex_match(n.substr(slash + 1), path);
  return std::regex_match(n, path);
}

Result<json> network_list_json(engine::Engine& e) {
  json all = json::array();
  for (const auto& n : TRY(e.networks())) all.push_back(network_json(e, n, false));
  // docker's fixed networks, so clients that look for them find them.
  for (const char* name : {"host", "none"})
    all.push_back({{"Name", name}, {"Id", name}, {"Driver", name}, {"Scope", "local"}, {"Internal", false}, {"Labels", json::object()}});
  return all;
}

namespace {

// As docker prints an image's config: empty volumes and labels are null, empty ports, stop
// signal and shell are left out.
json image_config_docker(const ImageConfig& c) {
  json j = {{"Entrypoint", nullable(c.entrypoint)}, {"Cmd", nullable(c.cmd)}, {"Env", c.env}, {"WorkingDir", c.workdir}, {"User", c.user},
      {"Volumes", c.volumes.empty() ? json(nullptr) : string_set(c.volumes)}, {"Labels", c.labels.empty() ? json(nullptr) : json(c.labels)},
      {"OnBuild", nullable(c.onbuild)}};
  if (!c.ports.empty()) j["ExposedPorts"] = string_set(c.ports);
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  if (!c.healthcheck.test.empty()) j["Healthcheck"] = healthcheck_json(c.healthcheck);
  return j;
}

json repo_digests(const engine::ImageInfo& info) {
  json out = json::array();
  std::string digest = engine::image_digest(info);
  if (!digest.empty()) {
    std::string name = info.source.substr(0, info.source.rfind('@'));
    size_t colon = name.rfind(':');
    if (colon != std::string::npos && name.find('/', colon) == std::string::npos) name.resize(colon);
    // Pulled from a registry: a loaded archive or layout's source is a path, no repository.
    if (reference_name_valid(name)) out.push_back(name + "@" + digest);
  }
  return out;
}

// docker's order of an image's tags: by their full names (busybox is docker.io/library/busybox,
// user/app docker.io/user/app, a name whose first part is a host stays as it is).
json repo_tags(std::vector<std::string> tags) {
  auto full = [](const std::string& t) {
    size_t slash = t.find('/');
    std::string first = slash == std::string::npos ? "" : t.substr(0, slash);
    if (slash == std::string::npos) return "docker.io/library/" + t;
    if (first.find_first_of(".:") != std::string::npos || first == "localhost") return t;
    return "docker.io/" + t;
  };
  std::sort(tags.begin(), tags.end(), [&](const std::string& a, const std::string& b) { return full(a) < full(b); });
  return tags;
}

}  // namespace

engine::FlistSigner image_signer(engine::Engine& e, const engine::ImageInfo& image) {
  auto policy = e.trust_policy();
  auto checks = e.image_signatures(image);
  if (!checks) return {};
  return engine::flist_signer(*checks, policy ? policy->keys() : std::vector<std::string>{});
}

json image_inspect_json(engine::Engine& e, const engine::ImageInfo& info) {
  ImageConfig cfg = e.image_config(info).value_or(ImageConfig{});
  engine::FlistSigner signer = image_signer(e, info);
  return {{"Id", "sha256:" + info.id}, {"RepoTags", repo_tags(info.tags)}, {"RepoDigests", repo_digests(info)}, {"Parent", ""},
      {"Comment", ""}, {"Source", info.source}, {"Created", rfc3339(info.created)}, {"Size", info.size}, {"VirtualSize", info.size},
      {"Os", "linux"}, {"Architecture", host_architecture()}, {"Author", cfg.author}, {"Config", image_config_docker(cfg)},
      {"RootFS", {{"Type", "flist"}}}, {"GraphDriver", {{"Name", "flist"}, {"Data", {{"Flist", info.flist}}}}}, {"Flist", info.flist},
      {"TiffinSigner", signer.key}, {"TiffinSignerTrusted", signer.trusted}};
}

json image_list_json(const engine::ImageInfo& i) {
  return {{"Id", "sha256:" + i.id}, {"ParentId", ""}, {"RepoTags", repo_tags(i.tags)}, {"RepoDigests", repo_digests(i)},
      {"Created", i.created}, {"Size", i.size}, {"VirtualSize", i.size}, {"SharedSize", -1}, {"Labels", json::object()},
      {"Containers", -1}};
}

json volume_json(const engine::VolumeInfo& v) {
  json options = json::object();
  if (v.size_mib) options["size"] = std::to_string(v.size_mib) + "m";
  return {{"Name", v.name}, {"Driver", "local"}, {"Mountpoint", v.mountpoint}, {"CreatedAt", rfc3339(v.created)},
      {"Labels", json::object()}, {"Scope", "local"}, {"Options", options}, {"SizeMiB", v.size_mib}, {"Created", v.created}};
}

std::string host_architecture() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}

std::string duration_text(int64_t s) {
  if (s < 1) return "Less than a second";
  if (s == 1) return "1 second";
  if (s < 60) return fmt::format("{} seconds", s);
  int64_t m = s / 60, h = s / 3600;
  if (m == 1) return "About a minute";
  if (m < 60) return fmt::format("{} minutes", m);
  if (h == 1) return "About an hour";
  if (h < 48) return fmt::format("{} hours", h);
  if (h < 24 * 7 * 2) return fmt::format("{} days", h / 24);
  if (h < 24 * 30 * 2) return fmt::format("{} weeks", h / 24 / 7);
  if (h < 24 * 365 * 2) return fmt::format("{} months", h / 24 / 30);
  return fmt::format("{} years", h / 24 / 365);
}

std::string time_ago(int64_t t) { return duration_text(std::max<int64_t>(0, ::time(nullptr) - t)) + " ago"; }

std::string status_text(const engine::ContainerInfo& c) {
  const auto& s = c.state;
  int64_t now = ::time(nullptr);
  auto since = [&](const std::string& t) { return duration_text(std::max<int64_t>(0, now - parse_rfc3339(t))); };
  switch (s.status) {
    case ContainerStatus::exited:
      return s.finished_at.empty() ? fmt::format("Exited ({})", s.exit_code)
                                   : fmt::format("Exited ({}) {} ago", s.exit_code, since(s.finished_at));
    case ContainerStatus::running: {
      std::string up = "Up " + since(s.started_at);
      if (s.health.status == "starting") return up + " (health: starting)";
      if (!s.health.status.empty()) return up + " (" + s.health.status + ")";
      return up;
    }
    case ContainerStatus::paused: return "Up " + since(s.started_at) + " (Paused)";
    case ContainerStatus::restarting: return fmt::format("Restarting ({}) {} ago", s.exit_code, since(s.finished_at));
    case ContainerStatus::created: return "Created";
  }
  return "Unknown";
}

std::string command_text(const engine::ContainerInfo& c) {
  std::string out;
  for (const auto& a : c.config.entrypoint.value_or(std::vector<std::string>{})) out += (out.empty() ? "" : " ") + a;
  for (const auto& a : c.config.cmd) out += (out.empty() ? "" : " ") + a;
  if (out.size() > 20) out = out.substr(0, 19) + "…";
  return "\"" + out + "\"";
}

}  // namespace tiffin::api
