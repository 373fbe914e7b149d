// What a user asks of a container (`tiffin run`'s flags), stored with it, and how that becomes
// the OCI spec the runtime gets: the image's config (entrypoint, cmd, env, workdir, user) under
// the user's overrides, over the runtime's secure defaults.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "flist/image_config.hpp"
#include "net/etc_files.hpp"
#include "runtime/spec.hpp"
#include "shim/health.hpp"

namespace tiffin::engine {

struct ContainerConfig {
  std::string name, image;
  std::vector<std::string> cmd;
  std::optional<std::vector<std::string>> entrypoint;  // set (maybe to empty) by --entrypoint
  std::vector<std::string> env;                        // KEY=value
  std::string workdir, user, hostname;
  double cpus = 0;
  int64_t memory = 0;      // bytes
  int64_t pids_limit = 0;  // 0: none
  uint64_t disk_size_mib = 0;
  std::string disk_type = "ssd";
  std::string restart = "no";
  std::string stop_signal;       // --stop-signal, else the image's StopSignal; empty: SIGTERM
  std::string pull = "missing";  // --pull: missing, always, never (how create finds the image; not stored)
  bool tty = false, interactive = false, auto_remove = false, read_only = false, privileged = false;
  bool init = false;  // --init: the host's tini-static as pid 1 (docker's docker-init), the program its child
  // --corex (Zero-OS's interactive containers): tiffin-corex, bound read-only at /corex, runs as
  // pid 1 instead of the image's program (engine/corex_mode.hpp).
  bool corex = false;
  // tiffin build's steps only (never from a command line or the API): read-only directories
  // stacked over the image's files under the writable layer, top first — the upper directories
  // of the RUNs that came since the step's image was made (build/builder.cpp).
  std::vector<std::string> lower_dirs;
  // none | host | container:<name or id> | a network's name or id ("bridge": the default one)
  std::string network = "bridge";
  std::string ip, ip6;                       // fixed addresses on that network
  std::vector<std::string> network_aliases;  // more names for it there
  std::string mac_address;
  // Zero-OS's public IPv6: a macvlan `pub` on the node's public bridge, addressed by SLAAC.
  bool public_ip6 = false;
  std::vector<std::string> publish;                       // -p specs (net/port_spec.hpp)
  bool publish_all = false;                               // -P: each of the image's ports on a free host port
  std::vector<std::string> add_hosts;                     // name:ip lines for /etc/hosts
  std::vector<std::string> dns, dns_search, dns_options;  // for /etc/resolv.conf
  std::vector<std::string> volumes;                       // name:/dst[:ro] or /host:/dst[:ro]
  std::vector<std::string> anonymous_volumes;             // made by create for the image's Volumes (named in `volumes`)
  std::vector<std::string> tmpfs;                         // /path[:mount options], a tmpfs each
  int64_t shm_size = 0;                                   // bytes of /dev/shm; 0: 64 MiB
  std::map<std::string, std::string> labels;
  std::vector<std::string> cap_add, cap_drop;
  std::string log_stdout, log_stderr;  // redis://…/channel
  std::string stats_redis;
  // The names (never the values) of the secret environment the container needs at every start
  // (StartOptions::secret_env).
  std::vector<std::string> secret_env_keys;
  // --health-*: over the image's HEALTHCHECK, field by field (test {"NONE"}: --no-healthcheck).
  Healthcheck healthcheck;

  bool operator==(const ContainerConfig&) const = default;
};

nlohmann::json container_config_to_json(const ContainerConfig& c);
Result<ContainerConfig> container_config_from_json(const nlohmann::json& j);

// Every field checked before anything is made: memory, cpus, names, network and its options,
// volume syntax, restart policy, redis URLs, capabilities.
Result<void> validate_container_config(const ContainerConfig& c);

// Sets KEY=value in an environment: an earlier KEY is replaced where it stands (docker's order,
// for run's -e and a Dockerfile's ENV alike), a new one appended.
void set_env(std::vector<std::string>& env, const std::string& key_value);

// Container names: [a-zA-Z0-9][a-zA-Z0-9_.-]* (docker's rule).
bool valid_container_name(const std::string& name);

// How a container is networked: none, the host's, another container's namespace, or a bridge
// network of the engine's.
enum class NetworkMode { none, host, container, bridge };
NetworkMode network_mode(const ContainerConfig& c);
// The container whose namespace a `container:<ref>` network joins.
std::string network_container(const ContainerConfig& c);

// --add-host name:ip (docker also takes name=ip, and [v6] in brackets).
Result<net::HostsEntry> parse_add_host(const std::string& text);

// The health check the shim runs: the user's flags over the image's HEALTHCHECK over docker's
// defaults (30 s interval and timeout, 3 retries, 5 s start interval). "CMD" runs its
// arguments, "CMD-SHELL" runs /bin/sh -c; "NONE" or no test: none.
shim::HealthSettings health_settings(const ContainerConfig& c, const ImageConfig& image);

struct VolumeSpec {
  std::string source;  // a volume name or an absolute host path
  std::string target;
  bool read_only = false;
  bool no_copy = false;  // nocopy: an empty volume is not filled from the image
  bool named() const { return !source.starts_with("/"); }
};
// --tmpfs /path[:options] (docker's: size=, mode=, uid=, gid=, ro, exec, suid, dev …) as a mount.
Result<runtime::Mount> parse_tmpfs_spec(const std::string& text);

// source:/target[:options], options a comma list of ro, rw, nocopy (docker's).
Result<VolumeSpec> parse_volume_spec(const std::string& text);

// The program to run: docker's rules for entrypoint and cmd from the image and the user.
std::vector<std::string> container_args(const ContainerConfig& c, const ImageConfig& image);

struct SpecInputs {
  std::string id;
  std::string rootfs;  // absolute
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::vector<runtime::Mount> mounts;  // extra mounts (volumes, /etc/hosts …)
  std::string cgroups_path;
  std::string netns;         // the network namespace to join (a path); "" with --network host
  std::string init_binary;   // with --init: the host's static init, bound at /sbin/docker-init
  std::string corex_binary;  // with --corex: tiffin-corex, bound at /corex
};
// The host's static init for --init (tini-static, as docker's docker-init), or "".
std::string find_init_binary();
// The spec for the runtime (written as config.json with runtime::spec_to_json): the image's
// config under the user's flags, over the runtime's secure defaults.
Result<runtime::Spec> build_spec(const ContainerConfig& c, const ImageConfig& image, const SpecInputs& in);

}  // namespace tiffin::engine
