// tiffin-full: every verb, the flist tools and the hub with the node's.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/cli.hpp"
#include "cli/zos_remote.hpp"
#include "engine/engine.hpp"

namespace tiffin::cli {

int run_full(int argc, char** argv) {
  // Run as `zos`, or with the seed's `zos container ID ACTION`: the command line tiffin parses.
  std::vector<std::string> words = zos_command_line(argc, argv);
  std::vector<char*> word_ptrs;
  for (auto& w : words) word_ptrs.push_back(w.data());
  word_ptrs.push_back(nullptr);
  argc = static_cast<int>(words.size());
  argv = word_ptrs.data();
  if (std::string node = remote_node_of(argc, argv); !node.empty()) {
    // The verb runs there, with that node's state: this one's --root, --run-root and
    // --dns-upstream stay here, as does --node NAME.
    std::vector<std::string> args;
    std::string verb = first_verb(argc, argv);
    bool global = true;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == verb) global = false;
      if (a == "--node" || (global && (a == "--root" || a == "--run-root" || a == "--dns-upstream"))) ++i;
      else if (!a.starts_with("--node=")) args.push_back(a);
    }
    return run_on_node(node, args);
  }
  engine::set_image_fetcher(engine::fetch_image_in_process);
  engine::set_flist_verifier(engine::verify_flist);
  set_zos_network_codec(zos_network_codec());
  set_block_collector([](engine::Engine& e) -> Result<uint64_t> { return TRY(e.free_unused_blocks()).bytes_freed; });
  // The flist tools, the mount and the hub log through spdlog.
  auto logger = spdlog::stderr_color_mt("tiffin");
  logger->set_pattern("tiffin: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);
  auto on_parsed = [](bool debug) {
    if (debug) spdlog::set_level(spdlog::level::debug);
  };
  return run_with(
      argc, argv,
      [](CLI::App& app, Context& ctx) {
        CLI::App* flist = app.add_subcommand("flist", "Make, inspect and change flists");
        flist->require_subcommand(1);
        add_flist_pack(*flist, ctx);
        add_flist_unpack(*flist, ctx);
        add_flist_inspect(*flist, ctx);
        add_flist_diff(*flist, ctx);
        add_flist_merge(*flist, ctx);
        add_flist_tag(*flist, ctx);
        add_flist_route(*flist, ctx);
        add_flist_sign(*flist, ctx);
        add_flist_check(*flist, ctx);
        add_flist_mount(*flist, ctx);
        add_hub(app, ctx);
        add_push(app, ctx);
        add_pull(app, ctx);
        add_serve(app, ctx);
        add_load(app, ctx);
        add_save(app, ctx);
        add_import(app, ctx);
        add_commit(app, ctx);
        add_build(app, ctx);
        add_login(app, ctx);
        add_cp(app, ctx);
        add_flake(app, ctx);
        add_node(app, ctx);
        add_deploy(app, ctx);
        add_zos(app, ctx);
        add_node_verbs(app, ctx);
      },
      on_parsed);
}

}  // namespace tiffin::cli
