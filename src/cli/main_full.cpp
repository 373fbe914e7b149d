// tiffin-full: every verb, the flist tools and the hub with the node's.
#include "cli/cli.hpp"
#include "engine/engine.hpp"

namespace tiffin::cli {

int run_full(int argc, char** argv) {
  engine::set_image_fetcher(engine::fetch_image_in_process);
  return run_with(argc, argv, [](CLI::App& app) {
    CLI::App* flist = app.add_subcommand("flist", "Make, inspect and change flists");
    flist->require_subcommand(1);
    add_flist_pack(*flist);
    add_flist_unpack(*flist);
    add_flist_inspect(*flist);
    add_flist_diff(*flist);
    add_flist_merge(*flist);
    add_flist_tag(*flist);
    add_flist_route(*flist);
    add_flist_sign(*flist);
    add_flist_check(*flist);
    add_flist_mount(*flist);
    add_hub(app);
    add_push_pull(app);
    add_import(app);
    add_node_verbs(app);
  });
}

}  // namespace tiffin::cli
