// The node's engine, daemonless (docs/DESIGN.md §1): every CLI process opens it over the same
// --root and --run-root, and SQLite (WAL, busy timeout) keeps their views consistent. Containers
// keep running without it: each has a tiffin-shim (talked to through shim/shim_protocol.hpp),
// each image in use a tiffin mount process.
//
// On disk:
//   <root>/tiffin.db                 images, tags, containers, volumes (engine/state_db.hpp)
//   <root>/images/<id>.fl            flists (id = BLAKE2b-256 of the file)
//   <root>/images/<id>.signatures    their publisher signatures, verified when stored
//   <root>/blocks, <root>/cache      blocks of imported images; the verified block cache
//   <root>/containers/<id>/          config.json, rootfs/, layer/, shim.conf, status,
//                                    container.log, hosts, hostname, resolv.conf
//   <root>/volumes/<name>/_data      named volumes (sized ones: an ext4 image beside, loop-mounted)
//   <root>/trust.json                the trusted publishers' keys, require-signed (trust_policy.hpp)
//   <run-root>/mounts/<image id>     the shared lazy mount of an image, one per image in use
//   <run-root>/runtime               the runtime's state directories
//   <run-root>/c/<id>/               the shim's socket, lock and the init's pid file
//   <run-root>/netns/<id>            the container's network namespace (none and bridge networks)
//   <run-root>/dns/<network>.conf    what the node's resolver (tiffin-dns) answers on a network
// A container's record is valid while its directory exists: the directory is made before the
// record and removed before it, so a record without one (a shim that removed its --rm
// container, a remove killed half way) is dropped on sight.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/event_log.hpp"
#include "common/fd.hpp"
#include "common/sqlite.hpp"
#include "engine/container_config.hpp"
#include "engine/container_state.hpp"
#include "hub/gc_lock.hpp"
#include "hub/hub_gc.hpp"
#include "engine/network_store.hpp"
#include "engine/zos_network_store.hpp"
#include "net/net_dev.hpp"
#include "engine/shim_client.hpp"
#include "engine/trust_policy.hpp"
#include "flist/image_config.hpp"
#include "flist/tar_writer.hpp"
#include "runtime/cgroup_stats.hpp"

namespace tiffin {
struct PathStat;        // flist/path_archive.hpp
struct ExtractOptions;  // flist/path_archive.hpp
class Tree;             // flist/tree.hpp
}  // namespace tiffin

namespace tiffin::image {
class ImageSource;
struct Reference;
}  // namespace tiffin::image

namespace tiffin::engine {

class Engine;
struct ImageReference;

struct EngineOptions {
  std::string root = "/var/lib/tiffin";
  std::string run_root = "/run/tiffin";
  std::string shim_binary;     // default: tiffin-shim beside the running executable
  std::string runtime_binary;  // the OCI runtime the shims drive; default: tiffin-oci beside it
  std::string tiffin_binary;   // default: the running executable
  std::string full_binary;     // tiffin-full (mounts, pulls, imports); default: beside tiffin_binary
  std::string dns_binary;      // the node's resolver, tiffin-dns; default: beside tiffin_binary
  std::string corex_binary;    // tiffin-corex, bound into --corex containers; default: beside tiffin_binary
  // Where the resolver sends names that are not containers'; default: the host's resolv.conf.
  std::vector<std::string> dns_upstreams;
  bool progress = true;  // on pulls, imports and pushes (drawn only on a terminal)
  // WireGuard in userspace, for zos networks where the kernel has no WireGuard module.
  std::string wireguard_go = "wireguard-go";
  // The node's public bridge, for containers' --public-ip6 (Zero-OS's br-pub).
  std::string public_bridge = "br-pub";
};

struct PullOptions {
  std::string platform;    // "linux/arm64"; default: the host's
  bool tls_verify = true;  // false: registries over https without verification, or http
};

struct ImageInfo {
  std::string id;                 // 64 hex
  std::vector<std::string> tags;  // "name:tag"
  std::string source;             // where it came from (hub URL, file, directory, registry ref@digest)
  int64_t created = 0;            // unix seconds
  uint64_t size = 0;              // bytes of file content it describes
  std::string flist;              // its .fl in the store
};

// The registry digest of an image pulled from one ("sha256:…", from its source "ref@sha256:…"), or "".
std::string image_digest(const ImageInfo& image);

struct VolumeInfo {
  std::string name, mountpoint;
  uint64_t size_mib = 0;
  int64_t created = 0;
};

// A container as `ps` and `inspect` show it.
struct ContainerInfo {
  std::string id, name, image, image_id;
  ContainerConfig config;
  int64_t created = 0;
  ShimStatus state;  // status, pid, exit code, restarts, times, why a start failed
  bool shim_alive = false;
};

struct ContainerFilter {
  bool all = false;                                 // else only active ones
  std::multimap<std::string, std::string> filters;  // docker's name=, id=, status=, ancestor=, exited=
};
// Errc::invalid_input for a filter docker does not have (name, id, status, ancestor, exited,
// label=key[=value], health).
Result<ContainerFilter> parse_container_filter(bool all, const std::vector<std::string>& key_values);
// docker's rules: values of one key are alternatives, labels must all hold, keys must all hold;
// without `all` only active containers (unless a status is asked for).
bool container_matches(const ContainerFilter& f, const ContainerInfo& c);

// How `start` connects the caller: with `attach`, the returned session streams the program's
// output (and takes its input with `attach_stdin`) until Exited; `size` reaches the terminal
// before the program runs.
struct StartOptions {
  bool attach = false, attach_stdin = false;
  std::optional<shim::Resize> size;
  // Without attach: the returned session carries no output, only the Exited that ends the run
  // (for a caller that reports the exit code: an --rm container leaves no record of it).
  bool watch_exit = false;
  // KEY=value entries only the container's process sees (a Zero-OS workload's decrypted secret
  // environment): through a memfd to the shim and the runtime, never in a file. A container
  // created with secret_env_keys needs them whenever a new shim starts it.
  std::vector<std::string> secret_env;
};
struct StartedContainer {
  int pid = 0;
  std::optional<ShimConnection> session;  // with attach
  // A --corex container's token, made for this start and delivered by it: the shim this start
  // launched holds it in its secret memfd (printed once, never stored). "" for other containers,
  // when the caller gave one (COREX_TOKEN in secret_env), and when the start was another's (the
  // container was running, or a shim another CLI launched started it with that CLI's token).
  std::string corex_token;
};

struct ExecRequest {
  std::vector<std::string> args, env;  // env: KEY=value, over the container's
  std::string workdir, user;           // user: name|uid[:group|gid], as run's --user
  bool tty = false, detach = false;
};
// An exec with a terminal: the process and the pty master the caller copies to and from.
struct ExecTerminal {
  pid_t pid = 0;
  UniqueFd master;
};

struct PipedExec {
  pid_t pid = 0;          // the runtime's `exec`: wait for it
  UniqueFd in, out, err;  // the program's stdin (write end), stdout and stderr (read ends)
  // The runtime's own failure (common/error.hpp's wire form), when it could not run the
  // program: read it once `pid` exited non-zero.
  UniqueFd errors;
};

// docker diff's entries: Kind is docker's number (0 changed, 1 added, 2 deleted).
struct Change {
  enum class Kind { modified = 0, added = 1, deleted = 2 };
  Kind kind;
  std::string path;
};

struct CommitOptions {
  std::string tag;  // "name[:tag]"; "" for none
  // The new image's config; none: the image's, with the container's own run options over it
  // (command, entrypoint, environment, workdir, user, labels, stop signal), as docker does.
  std::optional<ImageConfig> config;
  bool pause = true;  // a running container is paused while its layer is read
};

struct ProcessRow {
  pid_t pid = 0, ppid = 0;
  std::string command;
};

class Engine {
 public:
  static Result<Engine> open(EngineOptions opts);

  const EngineOptions& options() const { return opts_; }

  // ---- images
  // The node's trust policy (trust_policy.hpp), read anew on every call: another CLI may have
  // changed it. With require-signed, flists entering the store (hub pulls, .fl imports) are
  // checked before any of their blocks is read, images this node would make itself (registry
  // conversions, packed directories and tars, loaded archives) are refused before anything is
  // fetched or packed, and every create checks its image again. Errc::denied.
  Result<TrustPolicy> trust_policy() const { return TrustPolicy::load(opts_.root); }
  // A stored image's publisher signatures and whether each is valid (flist/signature.hpp),
  // recorded beside its flist (<root>/images/<id>.signatures) when it entered the store: the
  // .fl never changes, so neither do they. An image stored before such records is verified
  // now (by tiffin-full for the lean binary, see set_flist_verifier) and recorded.
  // image_signatures.cpp.
  Result<std::vector<SignatureCheck>> image_signatures(const ImageInfo& image);
  // Finds or fetches an image: a name or id in the store, an .fl file (copied in), a hub URL
  // or hub/user/name:tag (pulled), or a directory/tar (packed into <root>/blocks).
  // Fetching needs the HTTP client and the packer (image_fetch.cpp); a binary built without
  // them (the lean `tiffin`) runs `tiffin-full pull|import` for it instead.
  // `pull`: "missing" (fetch what the store lacks), "always" (fetch remote images anew),
  // "never" (the store only).
  Result<ImageInfo> resolve_image(const std::string& ref, const std::string& pull = "missing");
  // image_fetch.cpp:
  // Always fetches anew: a hub flist (http(s)://hub/user/name:tag), or an OCI image from a
  // registry (docker://ref, host[:port]/repo:tag when the host answers /v2/ as a registry, or a
  // bare name from the search registries: $TIFFIN_SEARCH_REGISTRIES, default docker.io),
  // converted to an flist whose blocks go to <root>/blocks.
  Result<ImageInfo> pull(const std::string& ref, const PullOptions& opts = {});
  // A registry image through a hub: asks the hub namespace `hub` (http(s)://hub/<user>, with
  // that user's `token`) to convert `image` into <user>/<repository's last part>:<tag> (or to
  // find it converted), then pulls that flist, whose blocks the container reads lazily from
  // the hub. image_fetch.cpp.
  Result<ImageInfo> pull_through_hub(
      const std::string& hub, const std::string& image, const std::string& token, const PullOptions& opts = {});
  // The same from any binary: runs `tiffin-full pull --hub` (the lean tiffin cannot speak
  // HTTP); the token comes to it in $TIFFIN_HUB_TOKEN.
  Result<ImageInfo> fetch_through_hub(const std::string& hub, const std::string& image, const PullOptions& opts = {});
  // Every image in a `docker save` / oci-archive tar (or an OCI layout or docker archive
  // directory), converted and tagged with the names it carries.
  Result<std::vector<ImageInfo>> load(const std::string& archive, const PullOptions& opts = {});
  // Images (names or ids) as one archive that `docker load` and OCI tools read (one layer per
  // image, holding its whole tree), written to `out` ("-": stdout).
  Result<void> save(const std::vector<std::string>& images, const std::string& out);
  // An image uploaded to a registry as an OCI image (one gzip or zstd layer); its manifest digest.
  Result<std::string> push_to_registry(
      const std::string& image, const std::string& destination, const PullOptions& opts, bool zstd = false);
  // A directory or tar (packed), or an .fl file (added as it is); `name` may be empty.
  Result<ImageInfo> import(const std::string& source, const std::string& name, const ImageConfig& config);
  // An .fl file into the store as it is (copied; its id is the file's hash), checked against
  // the trust policy; `source` is what `images` says it came from, `tag` may be empty.
  Result<ImageInfo> add_image_file(const std::string& flist_path, const std::string& source, const std::string& tag);
  // A tree made in memory (import, commit, build), saved as an .fl and moved into the store.
  Result<ImageInfo> add_image_tree(const Tree& tree, const std::string& source, const std::string& tag);
  // docker commit: the container's writable layer packed as a layer of the files it changed
  // (container_commit.cpp) and merged over its image's tree into a new image. In tiffin-full
  // only (packing reaches libarchive).
  Result<ImageInfo> commit(const std::string& ref, const CommitOptions& o);
  // The layer commit merges: the files the container changed (a stopped one's, or a running
  // one's as they are; pause it first for a consistent one), their blocks stored in the node's
  // store, the engine's bound /etc files left out. `below` is the container's image's tree. The
  // caller holds hold_blocks() until an flist in the store names the layer's blocks.
  Result<Tree> container_layer(const ContainerInfo& c, const Tree& below);
  // tiffin build: moves an exited container's upper directory (its changes, with overlayfs's
  // whiteouts) to `to`, on the same file system, for a later step's lower_dirs; the container
  // is to be removed next. Not for a container with a sized disk (its upper is a mount).
  Result<void> take_container_upper(const ContainerInfo& c, const std::string& to);
  // Writers of <root>/blocks hold this (gc.lock shared) from their first block until the flist
  // naming it is in the store, so free_unused_blocks never takes a block about to be named.
  Result<hub::GcLock> hold_blocks();
  // Deletes the blocks of <root>/blocks that no image, build cache entry or converted layer
  // names any more (hub/hub_gc.hpp, Layout::node): what rmi and the prunes leave behind. Waits
  // for the writers above. In tiffin-full only.
  Result<hub::GcReport> free_unused_blocks();
  Result<std::vector<ImageInfo>> images();
  // Removes a tag; the image goes once untagged and unused (or with force, unused).
  Result<std::vector<std::string>> remove_image(const std::string& ref, bool force);
  Result<ImageConfig> image_config(const ImageInfo& image);
  // Gives an image (name, id or id prefix) another name ("name[:tag]"), moving the name if
  // another image had it.
  Result<void> tag_image(const std::string& image, const std::string& name);

  // ---- containers (containers.cpp: records; container_lifecycle.cpp: through the shim)
  Result<std::string> create(const ContainerConfig& config);
  // Starts the container's shim and program. A program that cannot run is an error of kind
  // program_not_found / program_not_executable (docker's 127 / 126).
  Result<StartedContainer> start(const std::string& ref, const StartOptions& o = {});
  // The coreX tokens this Engine's starts made and delivered (container id, token), in order,
  // cleared by the call: for callers of what starts containers on its own (boot).
  std::vector<std::pair<std::string, std::string>> take_corex_tokens() { return std::exchange(corex_tokens_, {}); }
  // The signal, then SIGKILL after the timeout; no restart policy applies afterwards.
  Result<void> stop(const std::string& ref, std::chrono::milliseconds timeout, int signal = 0);  // 0: the container's stop signal
  Result<void> kill(const std::string& ref, int signal);
  Result<void> pause(const std::string& ref, bool pause);
  // A running container's terminal size (its shim sets it on the pty).
  Result<void> resize(const std::string& ref, uint16_t rows, uint16_t cols);
  // Waits until the container stopped for good; its exit code.
  Result<int> wait(const std::string& ref);
  // Attaches to a running container's output (and input).
  Result<ShimConnection> attach(const std::string& ref, bool with_stdin);
  // With `volumes`, the anonymous volumes create made for the image's Volumes go too (docker's
  // rm -v; --rm containers always take theirs).
  Result<void> remove(const std::string& ref, bool force, bool volumes = false);
  Result<ContainerInfo> inspect(const std::string& ref);
  Result<std::vector<ContainerInfo>> list(const ContainerFilter& filter);
  Result<std::string> resolve_container(const std::string& ref);  // id or unique id prefix, or name
  // Removes stopped containers, unused images (untagged ones, or all with `all`) and unused
  // volumes (with `volumes`); what went, one line each.
  Result<std::vector<std::string>> prune(bool all, bool volumes);

  // ---- inside a running container (container_exec.cpp): through the runtime, no shim hop
  // Without a terminal: runs with the caller's stdio and returns the exit code (0 once started
  // with detach).
  Result<int> exec(const std::string& ref, const ExecRequest& r);
  Result<ExecTerminal> exec_terminal(const std::string& ref, const ExecRequest& r);
  // With stdio the caller holds (the Engine API's hijacked connection): pipes, or with a
  // terminal the pty master (as `in` and `out`); the runtime's exec process, whose exit status
  // is the program's. Unlike exec_terminal, the caller becomes nobody's subreaper.
  Result<PipedExec> exec_piped(const std::string& ref, const ExecRequest& r);
  Result<std::vector<ProcessRow>> top(const std::string& ref);
  Result<runtime::CgroupStats> stats(const std::string& ref);
  // Bytes in and out of a running container's network namespace (all but lo); zero otherwise.
  net::NetIo network_io(const ContainerInfo& c);

  std::string container_dir(const std::string& id) const { return opts_.root + "/containers/" + id; }
  std::string log_path(const std::string& id) const { return container_dir(id) + "/container.log"; }

  // ---- a container's files from outside (container_files.cpp): what docker cp and docker diff
  // use. A running container's are reached through its own root (/proc/<pid>/root: its volumes,
  // tmpfs and /etc files included), a stopped one's in its rootfs and the volumes mounted over
  // the path. Paths are absolute in the container; nothing resolves out of it.
  Result<PathStat> stat_path(const std::string& ref, const std::string& path);
  Result<void> archive_path(const std::string& ref, const std::string& path, const ByteSink& sink);
  Result<void> extract_to(const std::string& ref, const std::string& dir, std::string_view tar, const ExtractOptions& opts);
  // A container's root filesystem as a host directory (podman's `mount`): a stopped one's
  // rootfs, mounted when it is not (its image's lazy mount under its writable layer; `rm`
  // unmounts it), a running one's /proc/<pid>/root. What a microVM flake exports to its guest.
  Result<std::string> mount_rootfs(const std::string& ref);
  // From its writable layer: what it added, changed and deleted in its image's tree.
  Result<std::vector<Change>> changes(const std::string& ref);
  // Errc::conflict when another container has the name.
  Result<void> rename(const std::string& ref, const std::string& name);

  // ---- networks (networks.cpp; a container's part in container_network.cpp)
  Result<Network> create_network(const NetworkSpec& spec);
  Result<std::vector<Network>> networks();
  Result<Network> network(const std::string& ref);
  Result<std::vector<Endpoint>> endpoints_on(const Network& n);
  // Errc::conflict while containers are on it.
  Result<void> remove_network(const std::string& ref);
  // Removes networks no container is on (the default one stays); their names.
  Result<std::vector<std::string>> prune_networks();
  // Joins a created or running container to one more network (an interface appears in it at
  // once when it has a namespace); leaves one.
  Result<Endpoint> connect(const std::string& container_ref, const EndpointRequest& r);
  Result<void> disconnect(const std::string& container_ref, const std::string& network_ref);
  Result<std::vector<Endpoint>> container_endpoints(const std::string& id);
  Result<std::vector<net::PublishedPort>> container_ports(const std::string& id);

  // ---- Zero-OS network resources (zos_networks.cpp): a network of driver zos is this node's /24
  // of a /16 that spans nodes, behind a namespace of its own with a WireGuard interface to the
  // peers that hold the other /24s (net/zos_network.hpp has the layout). Validated before
  // anything is made; a failure half way removes what was made.
  Result<Network> create_zos_network(const net::ZosNetworkSpec& spec);
  // Replaces the peers of a live resource: the WireGuard sessions of peers that stay, and the
  // containers, are untouched.
  Result<void> update_zos_network(const std::string& ref, const std::vector<net::ZosPeer>& peers);
  struct ZosNetworkView {
    ZosNetworkRecord record;
    std::string wg_ifname;  // inside the resource's namespace
    net::Cidr wg_address;
    std::optional<net::WgDeviceStatus> wg;  // none when WireGuard does not answer (see wg_problem)
    std::string wg_problem;
  };
  Result<ZosNetworkView> zos_network(const Network& n);
  // The global IPv6 addresses of a container's --public-ip6 interface, once SLAAC gave it one
  // (waiting at most `wait`).
  Result<std::vector<net::IpAddress>> public_ip6_of(const std::string& id, std::chrono::milliseconds wait);
  // After a reboot, kernel state is gone: bridges, tiffin's nftables table and the resolver are
  // made again, and containers with --restart always, unless-stopped or zos started; what was
  // done, one line each.
  Result<std::vector<std::string>> boot();

  // ---- events (engine/events.cpp): what this process changes goes to the node's event log
  // (common/event_log.hpp), best effort: a full disk must not fail a container's start.
  std::string events_path() const { return opts_.root + "/events.jsonl"; }
  void record_event(Event e) const;
  // docker's container attributes: name, image, the container's labels, and `extra`.
  void record_container_event(const ContainerInfo& c, const std::string& action, std::map<std::string, std::string> extra = {}) const;
  void record_container_event(const std::string& id, const std::string& action, std::map<std::string, std::string> extra = {});

  // ---- volumes
  Result<VolumeInfo> create_volume(const std::string& name, uint64_t size_mib);
  Result<std::vector<VolumeInfo>> volumes();
  Result<VolumeInfo> volume(const std::string& name);
  Result<void> remove_volume(const std::string& name, bool force);

 private:
  Engine(EngineOptions opts, sql::Db db) : opts_(std::move(opts)), db_(std::move(db)) {}

  struct Record {
    std::string id, name, image, image_id, config_json;
    int64_t created = 0;
  };

  // image_signatures.cpp: where an image's signature record lives, and writing it.
  std::string signatures_path(const std::string& image_id) const;
  Result<void> record_signatures(const std::string& image_id, const std::vector<SignatureCheck>& checks);
  // add_image_file and add_image_tree: `flist_path` holds `tree`; moved into the store when
  // `move` (a temporary of ours), else copied.
  Result<ImageInfo> store_image(
      const std::string& flist_path, const Tree& tree, const std::string& source, const std::string& tag, bool move);
  Result<ImageInfo> fetch_image(const ImageReference& ref);
  // Runs tiffin-full with `args` after its global flags and finds the image it names on its
  // output's last line.
  Result<ImageInfo> run_full_fetch(const std::vector<std::string>& args, const std::string& what);
  // image_fetch.cpp: an OCI image converted into the store under `tags`; `origin` is recorded
  // as its source (with the manifest digest).
  Result<ImageInfo> add_converted_image(
      image::ImageSource& source, const PullOptions& opts, const std::vector<std::string>& tags, const std::string& origin);
  Result<ImageInfo> pull_from_registry(const image::Reference& ref, const PullOptions& opts);
  Result<ImageInfo> pull_image(const std::string& ref, const PullOptions& opts);  // pull, less its event
  Result<std::optional<ImageInfo>> find_image(const std::string& ref);

  std::string shim_dir(const std::string& id) const { return opts_.run_root + "/c/" + id; }
  std::string netns_path(const std::string& id) const { return opts_.run_root + "/netns/" + id; }
  std::string runtime_root() const { return opts_.run_root + "/runtime"; }
  Result<shim::ShimConfig> shim_config(const std::string& id, const ContainerConfig& c, const ImageConfig& image) const;
  bool shim_alive(const std::string& id) const;

  // containers.cpp
  Result<std::vector<Record>> records(const std::string& where_id = {});
  Result<ContainerInfo> load(const Record& r);
  Result<ContainerInfo> load_container(const std::string& id);
  Error name_taken(const std::string& name);
  // The record, and (with `volumes`, or for an --rm container) its anonymous volumes.
  Result<void> drop_record(const std::string& id, bool volumes);
  // container_rootfs.cpp: what a container needs before its shim starts, and undoing it
  Result<void> prepare_rootfs(const std::string& id, const ContainerConfig& c, const ImageInfo& image);
  // A stopped container's rootfs, mounted if it is not (for work on its files from outside).
  Result<std::string> mounted_rootfs(const ContainerInfo& c);
  // container_network.cpp: leases first (in create, before anything is made in the kernel),
  // then the namespace, veths, addresses and routes; undone by release_network.
  Result<void> lease_network(const std::string& id, const ContainerConfig& c, const ImageInfo& image);
  Result<void> prepare_network(const std::string& id, const ContainerConfig& c);
  Result<void> release_network(const std::string& id);
  // Drops the leases of containers that went without a remove, and what they held.
  Result<void> collect_network_garbage();
  Result<void> ensure_bridge(const Network& n);
  // zos_networks.cpp: each part of a resource made when missing (so this also repairs one after a
  // reboot or a killed wireguard-go), and removed.
  Result<void> ensure_zos_resource(const Network& n);
  Result<void> ensure_zos_wireguard(const Network& n, const ZosNetworkRecord& z, const std::string& nr_netns);
  Result<void> remove_zos_resource(const ZosNetworkRecord& z);
  Result<void> join_public_ip6(const std::string& id);
  // One CLI at a time makes or changes a resource's WireGuard.
  Result<UniqueFd> lock_zos_interface(const std::string& wg);
  std::string zos_key_path(const std::string& network_id) const { return opts_.root + "/networks/" + network_id + ".key"; }
  std::string zos_netns_path(const std::string& network_id) const { return opts_.run_root + "/netns/nr-" + network_id.substr(0, 16); }
  net::ZosLinkNames zos_names(const std::string& net_id) const;
  // The node's side of every resource's way out (net/zos_network.hpp).
  std::string zos_ndmz_bridge() const;
  // Whether it made the container's interface (false: it was there).
  Result<bool> join_network(const std::string& id, const Endpoint& e, bool default_route);
  // tiffin's nftables table from the networks and ports in the database.
  Result<void> sync_firewall();
  // "inet tiffin" for the default --root, "inet tiffin_<hash of root>" for others.
  std::string firewall_table() const;
  // The resolver's file for a network (or its removal), and a live resolver.
  Result<void> sync_dns(const Network& n);
  Result<void> sync_dns_of(const std::vector<Endpoint>& endpoints);
  std::string dns_dir() const { return opts_.run_root + "/dns"; }
  // The addresses the container's /etc/resolv.conf names, and its /etc/hosts lines.
  Result<std::string> resolv_conf_for(const std::string& id, const ContainerConfig& c);
  Result<std::string> hosts_for(const std::string& id, const ContainerConfig& c, const std::string& hostname);
  // config.json; `size` is the terminal's, when a client with one starts the container.
  Result<void> write_bundle(
      const std::string& id, const ContainerConfig& c, const ImageInfo& image, const std::optional<shim::Resize>& size);
  Result<void> release(const std::string& id, const ContainerConfig& c, const std::string& image_id);
  Result<std::vector<std::string>> volume_mounts(const ContainerConfig& c);
  // volumes.cpp: an anonymous volume for each of the image's Volumes the user mounted nothing
  // on (recorded in the config), and docker's copy-up: an empty volume receives what the
  // container's root has at its mount point.
  Result<void> add_anonymous_volumes(ContainerConfig& c, const ImageConfig& image);
  Result<void> fill_volumes(const std::string& id, const ContainerConfig& c);
  // container_files.cpp: the tree a path of the container is in, and the path in that tree.
  struct FilesRoot {
    std::string root, path;
    ContainerInfo container;
  };
  Result<FilesRoot> files_root(const std::string& ref, const std::string& path);
  // container_lifecycle.cpp
  Result<ShimConnection> launch(const std::string& id, const ContainerInfo& info, const StartOptions& o);
  Result<void> stop_without_shim(const std::string& id, std::chrono::milliseconds timeout, int signal);

  EngineOptions opts_;
  sql::Db db_;
  std::vector<std::pair<std::string, std::string>> corex_tokens_;  // take_corex_tokens
};

// How images get fetched: by running `tiffin-full` (the lean tiffin), or in this process once
// set_image_fetcher(fetch_image_in_process) was called (tiffin-full, which links image_fetch.cpp).
using ImageFetcher = Result<ImageInfo> (*)(Engine& engine, const ImageReference& ref);
void set_image_fetcher(ImageFetcher fetcher);
Result<ImageInfo> fetch_image_in_process(Engine& engine, const ImageReference& ref);  // image_fetch.cpp

// How Engine::image_signatures verifies an flist it has no record for: by running `tiffin-full
// flist verify --format json` (the lean tiffin links no verifier), or in this process once
// set_flist_verifier(verify_flist) was called (tiffin-full; trust_policy.hpp).
using FlistVerifier = Result<std::vector<SignatureCheck>> (*)(const std::string& flist);
void set_flist_verifier(FlistVerifier verifier);
// The record's form, also `tiffin flist verify --format json`'s: [{"public_key": hex, "valid": bool}].
std::string signatures_to_json(const std::vector<SignatureCheck>& checks);
Result<std::vector<SignatureCheck>> signatures_from_json(std::string_view text);

// A new 64-hex id (containers, anonymous volumes), from the kernel's random numbers.
Result<std::string> random_id();
// A 64-hex id's short form, as docker shows it.
inline std::string short_id(const std::string& id) { return id.substr(0, 12); }

}  // namespace tiffin::engine
