// tiffin-full: every verb, the flist tools and the hub with the node's.
#include "cli/cli.hpp"
#include "engine/engine.hpp"

namespace tiffin::cli {

int run_full(int argc, char** argv) {
  engine::set_image_fetcher(engine::fetch_image_in_process);
  return run_with(argc, argv, [](CLI::App& app, Context& ctx) {
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
    add_push_pull(app, ctx);
    add_import(app, ctx);
    add_node_verbs(app, ctx);
  });
}

}  // namespace tiffin::cli
