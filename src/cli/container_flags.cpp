#include "cli/container_flags.hpp"

#include "cli/cli.hpp"

#include <cctype>
#include <charconv>
#include <fstream>

namespace tiffin::cli {

Result<int64_t> parse_size(const std::string& text) {
  if (text.empty()) return fail(Errc::invalid_input, "empty size");
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || v < 0) return fail(Errc::invalid_input, "invalid size '" + text + "'");
  std::string unit(end, text.data() + text.size());
  for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (unit.ends_with("b") && unit.size() > 1) unit.pop_back();
  double mul = unit.empty() || unit == "b" ? 1 : unit == "k" ? 1024.0 : unit == "m" ? 1048576.0 : unit == "g" ? 1073741824.0 : -1;
  if (mul < 0) return fail(Errc::invalid_input, "invalid size '" + text + "': the unit must be b, k, m or g");
  return static_cast<int64_t>(v * mul);
}

Result<int64_t> parse_duration(const std::string& text) {
  auto bad = [&] { return fail(Errc::invalid_input, "invalid duration '" + text + "': use e.g. 30s, 1m30s, 500ms"); };
  if (text == "0") return 0;
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  std::string_view rest = text;
  double total = 0;
  if (rest.empty()) return bad();
  while (!rest.empty()) {
    double v = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc() || v < 0 || !std::isdigit(static_cast<unsigned char>(rest[0]))) return bad();
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    // The longest unit that matches ("ms" before "m").
    size_t best = 0;
    double mul = 0;
    for (const auto& [unit, m] : kUnits)
      if (rest.starts_with(unit) && unit.size() > best) best = unit.size(), mul = m;
    if (!best) return bad();
    rest.remove_prefix(best);
    total += v * mul;
  }
  if (total > 9.2e18) return bad();
  return static_cast<int64_t>(total);
}

void ContainerFlags::add_to(CLI::App* cmd) {
  cmd->add_option("--name", c.name, "Name of the container");
  cmd->add_option("-e,--env", c.env, "Environment variable KEY=value (KEY alone: taken from here)");
  cmd->add_option("--env-file", env_files, "Read KEY=value lines from a file");
  cmd->add_option("-v,--volume", c.volumes, "Volume name:/dst[:ro] or bind mount /host:/dst[:ro]");
  cmd->add_option("--entrypoint", entrypoint_text, "Overwrite the image's entrypoint")->each([this](const std::string&) {
    entrypoint_set = true;
  });
  cmd->add_option("-w,--workdir", c.workdir, "Working directory inside the container");
  cmd->add_option("-u,--user", c.user, "User name or uid, with an optional :group or :gid");
  cmd->add_option("--hostname", c.hostname, "Container host name");
  cmd->add_option("--cpus", c.cpus, "Number of CPUs");
  cmd->add_option("-m,--memory", memory, "Memory limit (e.g. 512m)");
  cmd->add_option("--pids-limit", c.pids_limit, "Limit on the number of processes");
  cmd->add_option("--disk-size", c.disk_size_mib, "Size of the writable layer in MiB (ENOSPC beyond)");
  cmd->add_option("--disk-type", c.disk_type, "Storage pool of a sized writable layer: ssd or hdd");
  cmd->add_option("--restart", c.restart, "Restart policy: no, on-failure[:N], always, unless-stopped, zos");
  cmd->add_flag("-i,--interactive", c.interactive, "Keep stdin open");
  cmd->add_flag("-t,--tty", c.tty, "Allocate a pseudo-terminal");
  cmd->add_flag("--rm", c.auto_remove, "Remove the container when it exits");
  cmd->add_option("--stop-signal", c.stop_signal, "Signal that stops the container (default: the image's StopSignal, else TERM)");
  cmd->add_option("--pull", c.pull, "Fetch the image: missing (when the store lacks it), always, never")
      ->check(CLI::IsMember({"missing", "always", "never"}));
  cmd->add_option("--log-redis", log_redis, "Publish output lines to Redis: stdout=redis://…/chan,stderr=redis://…/chan");
  cmd->add_option("--stats-redis", c.stats_redis, "Publish stats every 2 s to redis://[:password@]host[:port]/channel");
  cmd->add_option("--network,--net", c.network, "A network's name, bridge (the default network), none, host or container:<name|id>");
  cmd->add_option("-p,--publish", c.publish, "Publish a port: [hostip:][hostport[-end]:]ctrport[-end][/tcp|/udp]");
  cmd->add_flag("-P,--publish-all", c.publish_all, "Publish each of the image's ports on a free host port");
  cmd->add_option("--ip", c.ip, "IPv4 address on the network");
  cmd->add_option("--ip6", c.ip6, "IPv6 address on the network");
  cmd->add_flag("--public-ip6", c.public_ip6, "Zero-OS: a public IPv6 address (SLAAC) on an interface pub, on the node's public bridge");
  cmd->add_option("--network-alias", c.network_aliases, "Another name for the container on its network");
  cmd->add_option("--mac-address", c.mac_address, "MAC address of the container's interface");
  cmd->add_option("--add-host", c.add_hosts, "A line for /etc/hosts: name:ip");
  cmd->add_option("--dns", c.dns, "Name server for the container (instead of the node's resolver)");
  cmd->add_option("--dns-search", c.dns_search, "DNS search domain");
  cmd->add_option("--dns-option", c.dns_options, "resolv.conf option (ndots:2, …)");
  cmd->add_flag("--read-only", c.read_only, "Mount the container's root read-only");
  cmd->add_flag("--corex", c.corex,
      "Interactive (Zero-OS): run coreX (a process manager with web terminals, port 7681) instead of the image's program; "
      "prints its address and token");
  cmd->add_flag("--init", c.init, "Run tini (the host's tini-static) as pid 1: it reaps and forwards signals");
  cmd->add_option("--cap-add", c.cap_add, "Add a Linux capability");
  cmd->add_option("--cap-drop", c.cap_drop, "Drop a Linux capability");
  cmd->add_flag("--privileged", c.privileged, "All capabilities, no seccomp, all devices");
  cmd->add_option("--tmpfs", c.tmpfs, "Mount a tmpfs: /path[:size=64m,mode=1777,…]");
  cmd->add_option("--shm-size", shm_size, "Size of /dev/shm (e.g. 256m; default 64m)");
  cmd->add_option("-l,--label", labels, "A label key=value on the container");
  cmd->add_option("--health-cmd", health_cmd, "Command (run by /bin/sh -c) that tells whether the container is healthy");
  cmd->add_option("--health-interval", health_interval, "Time between health checks (default 30s)");
  cmd->add_option("--health-timeout", health_timeout, "Time a health check may take (default 30s)");
  cmd->add_option("--health-start-period", health_start_period, "Time to start in, when failed checks do not count (default 0s)");
  cmd->add_option("--health-start-interval", health_start_interval, "Time between checks within the start period (default 5s)");
  cmd->add_option("--health-retries", health_retries, "Failures in a row that make the container unhealthy (default 3)");
  cmd->add_flag("--no-healthcheck", no_healthcheck, "Disable the image's HEALTHCHECK");
  cmd->add_option("image", image, "IMAGE [COMMAND] [ARG...]")->required();
}

Result<engine::ContainerConfig> ContainerFlags::finish(const std::vector<std::string>& command) {
  engine::ContainerConfig out = c;
  out.image = image;
  out.cmd = command;
  if (entrypoint_set) out.entrypoint = entrypoint_text.empty() ? std::vector<std::string>{} : std::vector<std::string>{entrypoint_text};
  if (!memory.empty()) out.memory = TRY(parse_size(memory));
  if (!shm_size.empty()) out.shm_size = TRY(parse_size(shm_size));
  for (const auto& l : labels) {
    size_t eq = l.find('=');
    if (eq == 0) return fail(Errc::invalid_input, "invalid label '" + l + "': the key is empty");
    out.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  Healthcheck& h = out.healthcheck;
  if (!health_cmd.empty()) h.test = {"CMD-SHELL", health_cmd};
  for (auto [text, ns] : {std::pair{&health_interval, &h.interval_ns}, {&health_timeout, &h.timeout_ns},
           {&health_start_period, &h.start_period_ns}, {&health_start_interval, &h.start_interval_ns}})
    if (!text->empty()) *ns = TRY(parse_duration(*text));
  h.retries = health_retries;
  if (no_healthcheck) {
    if (h != Healthcheck{}) return fail(Errc::invalid_input, "--no-healthcheck conflicts with --health-* options");
    h.test = {"NONE"};
  }
  std::vector<std::string> env;
  for (const auto& file : env_files) {
    std::ifstream in(file);
    if (!in) return fail(Errc::invalid_input, "env file " + file + ": cannot be read");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      env.push_back(line);
    }
  }
  env.insert(env.end(), out.env.begin(), out.env.end());
  out.env.clear();
  for (const auto& e : env) {
    if (e.find('=') != std::string::npos) out.env.push_back(e);
    else if (const char* v = std::getenv(e.c_str())) out.env.push_back(e + "=" + v);
  }
  for (const auto& spec : log_redis) {
    size_t start = 0;
    while (start <= spec.size()) {
      size_t comma = spec.find(',', start);
      std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (part.starts_with("stdout=")) out.log_stdout = part.substr(7);
      else if (part.starts_with("stderr=")) out.log_stderr = part.substr(7);
      else return fail(Errc::invalid_input, "--log-redis: expected stdout=URL[,stderr=URL], got '" + part + "'");
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

}  // namespace tiffin::cli
