// The `tiffin` command line. Each verb lives in a file of its own (the flist tools by family:
// flist_inspect.cpp holds ls, tree, stat, cat and config) and only translates flags into calls
// of the library; errors become messages on stderr and exit codes: 0 success, 1 the operation
// failed, 2 bad input from the user (flags, files, URLs), and for the container verbs docker's
// 125 (the engine failed), 126 (the program cannot run) and 127 (no such program).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/engine.hpp"
#include "net/zos_network.hpp"
#include "flist/tree.hpp"
#include "store/router.hpp"

namespace tiffin::cli {

// What one invocation carries from parsing to the verb that runs: the global options, the
// command after `run IMAGE` / `exec CONTAINER`, and the exit code the verb decided.
struct Context {
  engine::EngineOptions engine;      // --root, --run-root
  std::vector<std::string> command;  // what follows the image of run/create or the container of exec
  int exit_code = 0;

  Result<engine::Engine> open_engine() const { return engine::Engine::open(engine); }
  // Runs a verb body: its exit code, or its error printed and mapped by exit_code_for.
  void run(const std::function<Result<int>()>& body);
  // The same for the container verbs: engine failures are docker's 125, a program that cannot
  // start 126/127.
  void run_container_verb(const std::function<Result<int>()>& body);
};

using AddVerbs = std::function<void(CLI::App&, Context&)>;

// The two binaries: `tiffin` (the node's verbs, linked lean so it starts in a few ms) hands
// the flist, hub, push, pull and import verbs to `tiffin-full` (everything).
int run_node(int argc, char** argv);
int run_full(int argc, char** argv);
// `on_parsed` runs once the command line is parsed, with --debug's value (tiffin-full sets up its
// logging there; the lean tiffin has none: it prints errors with fmt only).
int run_with(int argc, char** argv, const AddVerbs& add_verbs, const std::function<void(bool debug)>& on_parsed = {});
void add_node_verbs(CLI::App& app, Context& ctx);
// The verb of a command line (after the global options), or "".
std::string first_verb(int argc, char** argv);

// Zero-OS networks' verbs read WireGuard keys (base64, X25519 with libsodium), which the lean
// tiffin does not link: `network create --driver zos|--config`, `network update` and `network
// keygen` are tiffin-full's (zos_network_verb says which command lines those are), and
// tiffin-full sets the codec (cli/network_zos.cpp).
struct ZosNetworkArgs {
  std::string config;  // a NetResource JSON file
  std::string name, net_id, ip_range, subnet, private_key, public_key;
  std::string private_key_file;    // a file holding it, or "-": standard input (out of argv, which anyone can read)
  int listen_port = -1;            // -1: not given
  std::vector<std::string> peers;  // --peer flags
};
struct ZosNetworkCodec {
  Result<net::ZosNetworkSpec> (*read_spec)(const ZosNetworkArgs&) = nullptr;
  Result<std::vector<net::ZosPeer>> (*read_peers)(const ZosNetworkArgs&) = nullptr;
  Result<std::pair<std::string, std::string>> (*keygen)() = nullptr;  // base64 {private, public}
};
void set_zos_network_codec(const ZosNetworkCodec& codec);
ZosNetworkCodec zos_network_codec();  // tiffin-full's (network_zos.cpp)
bool zos_network_verb(int argc, char** argv);

// `system prune` ends by freeing the blocks no image names any more (Engine::free_unused_blocks,
// which the lean tiffin does not link): that command line is tiffin-full's (prune_verb says
// which), and tiffin-full sets the collector; the result is the bytes freed.
using BlockCollector = Result<uint64_t> (*)(engine::Engine& engine);
void set_block_collector(BlockCollector collector);
bool prune_verb(int argc, char** argv);

// `tiffin flist …` (tiffin-full), one family of verbs per file.
void add_flist_pack(CLI::App& flist, Context& ctx);
void add_flist_unpack(CLI::App& flist, Context& ctx);
void add_flist_inspect(CLI::App& flist, Context& ctx);  // ls, tree, stat, cat, config
void add_flist_diff(CLI::App& flist, Context& ctx);
void add_flist_merge(CLI::App& flist, Context& ctx);
void add_flist_tag(CLI::App& flist, Context& ctx);
void add_flist_route(CLI::App& flist, Context& ctx);
void add_flist_sign(CLI::App& flist, Context& ctx);  // keygen, sign, verify
void add_flist_check(CLI::App& flist, Context& ctx);
void add_flist_mount(CLI::App& flist, Context& ctx);  // mount, umount
void add_hub(CLI::App& app, Context& ctx);            // hub serve, token, ls, link, rm
void add_push(CLI::App& app, Context& ctx);
void add_pull(CLI::App& app, Context& ctx);   // registry images and hub flists
void add_serve(CLI::App& app, Context& ctx);  // the Docker Engine API
void add_load(CLI::App& app, Context& ctx);   // docker-archive / oci-archive tars
void add_save(CLI::App& app, Context& ctx);
void add_import(CLI::App& app, Context& ctx);    // import
void add_commit(CLI::App& app, Context& ctx);    // commit
void add_build(CLI::App& app, Context& ctx);     // build, builder prune|du
void add_login(CLI::App& app, Context& ctx);     // login, logout (registries)
void add_node(CLI::App& app, Context& ctx);      // Zero-OS: identity, users, remote nodes
void add_node_vm(CLI::App& node, Context& ctx);  // tiffin node vm: a node in a local VM
// `tiffin node trust add|ls|rm|policy` under the `node` group: trusted flist publishers.
void add_node_trust(CLI::App& node, Context& ctx);
void add_deploy(CLI::App& app, Context& ctx);  // Zero-OS workloads: deploy, workloads
void add_zos(CLI::App& app, Context& ctx);     // ThreeFold's `zos` command line against nodes
// The command line as tiffin parses it: `zos …` (argv[0] named zos, a symlink to tiffin-full)
// is `tiffin zos …`, and the seed's `zos container ID ACTION …` becomes `… container ACTION ID …`.
std::vector<std::string> zos_command_line(int argc, char** argv);
// `--node NAME` (or TIFFIN_NODE) on a verb that is not Zero-OS's own: the node's name, else "".
std::string remote_node_of(int argc, char** argv);
void add_cp(CLI::App& app, Context& ctx);     // docker cp (tars: libarchive)
void add_flake(CLI::App& app, Context& ctx);  // flake register, list, info, remove
// The node's verbs (docker's command line), one per file.
void add_run(CLI::App& app, Context& ctx);
void add_create(CLI::App& app, Context& ctx);
void add_start(CLI::App& app, Context& ctx);
void add_restart(CLI::App& app, Context& ctx);
void add_attach(CLI::App& app, Context& ctx);
void add_ps(CLI::App& app, Context& ctx);
void add_inspect(CLI::App& app, Context& ctx);
void add_stop(CLI::App& app, Context& ctx);
void add_kill(CLI::App& app, Context& ctx);
void add_rm(CLI::App& app, Context& ctx);
void add_wait(CLI::App& app, Context& ctx);
void add_pause(CLI::App& app, Context& ctx);  // pause, unpause
void add_top(CLI::App& app, Context& ctx);
void add_stats(CLI::App& app, Context& ctx);
void add_logs(CLI::App& app, Context& ctx);
void add_exec(CLI::App& app, Context& ctx);
void add_images(CLI::App& app, Context& ctx);
void add_rmi(CLI::App& app, Context& ctx);
void add_tag(CLI::App& app, Context& ctx);
void add_image(CLI::App& app, Context& ctx);    // image inspect
void add_volume(CLI::App& app, Context& ctx);   // volume create, ls, inspect, rm
void add_network(CLI::App& app, Context& ctx);  // network create, ls, inspect, rm, prune, connect, disconnect
void add_port(CLI::App& app, Context& ctx);
void add_system(CLI::App& app, Context& ctx);  // system prune, boot
void add_events(CLI::App& app, Context& ctx);
void add_rename(CLI::App& app, Context& ctx);
void add_mount(CLI::App& app, Context& ctx);
void add_diff(CLI::App& app, Context& ctx);

int exit_code_for(const Error& e);

// The stores to read an flist's blocks from: the -s specs when given, else the flist's routes.
Result<std::shared_ptr<Router>> stores_for(const Tree& tree, const std::vector<std::string>& specs);

bool want_json(const std::string& format);
// Prints JSON on stdout. Names in flists are bytes, not always UTF-8: invalid sequences are
// shown as U+FFFD instead of aborting the command.
void print_json(const nlohmann::json& j, int indent = 2);

// "key=value" → tags[key] = value; Errc::invalid_input otherwise.
Result<void> set_tag(std::map<std::string, std::string>& tags, const std::string& key_value);

}  // namespace tiffin::cli
