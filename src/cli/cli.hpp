// The `tiffin` command line. Each verb lives in a file of its own and only translates flags
// into calls of the library; errors become messages on stderr and docker-like exit codes:
// 0 success, 1 the operation failed, 2 bad input from the user (flags, files, URLs).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "engine/engine.hpp"
#include "flist/tree.hpp"
#include "store/router.hpp"

namespace tiffin::cli {

// The two binaries: `tiffin` (the node's verbs, linked lean so it starts in a few ms) hands
// the flist, hub, push, pull and import verbs to `tiffin-full` (everything).
int run_node(int argc, char** argv);
int run_full(int argc, char** argv);
int run_with(int argc, char** argv, const std::function<void(CLI::App&)>& add_verbs);
void add_node_verbs(CLI::App& app);
// The verb of a command line (after the global options), or "".
std::string first_verb(int argc, char** argv);

// Registration of the `tiffin flist` verbs (one per file).
void add_flist_pack(CLI::App& flist);
void add_flist_unpack(CLI::App& flist);
void add_flist_inspect(CLI::App& flist);  // ls, tree, stat, cat, config
void add_flist_diff(CLI::App& flist);
void add_flist_merge(CLI::App& flist);
void add_flist_tag(CLI::App& flist);
void add_flist_route(CLI::App& flist);
void add_flist_sign(CLI::App& flist);     // keygen, sign, verify
void add_flist_check(CLI::App& flist);
void add_flist_mount(CLI::App& flist);   // mount, umount
void add_hub(CLI::App& app);              // hub serve, token, ls, link, rm
void add_push_pull(CLI::App& app);        // push, pull
// The engine's verbs (docker's command line).
void add_container_run(CLI::App& app);    // run, create, start, attach, restart
void add_container_verbs(CLI::App& app);  // ps, inspect, stop, kill, rm, wait, pause, unpause, top, stats
void add_container_logs(CLI::App& app);   // logs
void add_container_exec(CLI::App& app);   // exec
void add_image_verbs(CLI::App& app);      // images, rmi, volume …, system prune
void add_import(CLI::App& app);           // import (tiffin-full)

// What follows the image of `run`/`create` or the container of `exec`: the command, untouched.
std::vector<std::string>& trailing_command();

// The engine over the global --root and --run-root.
engine::EngineOptions& engine_options();
Result<engine::Engine> open_engine();

// Runs a verb body; prints its error and sets the process exit code.
void run_verb(const std::function<Result<int>()>& body);
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
