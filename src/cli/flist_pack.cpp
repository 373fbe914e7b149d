// tiffin flist pack <dir|tar|-> -o x.fl -s store…
#include <fmt/core.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "cli/cli.hpp"
#include "common/progress.hpp"
#include "flist/flist_file.hpp"
#include "flist/pack.hpp"

namespace tiffin::cli {

void add_flist_pack(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string source, output;
    std::vector<std::string> stores, tags, env, entrypoint, cmd, ports;
    std::string workdir, user;
    unsigned threads = 0;
    bool no_progress = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd =
      flist.add_subcommand("pack", "Pack a directory or a tar archive (tar, tar.gz, tar.xz, tar.zst, - for stdin) into an flist");
  cmd->add_option("source", o->source, "Directory, tar archive, or - for a tar on stdin")->required();
  cmd->add_option("-o,--output", o->output, "The .fl file to write")->required();
  cmd->add_option("-s,--store", o->stores, "Block store as [xx-xx=]url (dir://, zdb://); repeat for replicas or shards")->required();
  cmd->add_option("--tag", o->tags, "Tag key=value to set (repeatable)");
  cmd->add_option("--entrypoint", o->entrypoint, "Image entrypoint (repeat for each argument)");
  cmd->add_option("--cmd", o->cmd, "Image command (repeat for each argument)");
  cmd->add_option("--env", o->env, "Image environment KEY=value (repeatable)");
  cmd->add_option("--workdir", o->workdir, "Image working directory");
  cmd->add_option("--user", o->user, "Image user");
  cmd->add_option("--port", o->ports, "Exposed port, e.g. 80/tcp (repeatable)");
  cmd->add_option("-j,--threads", o->threads, "Encoding threads (default: one per core)");
  cmd->add_flag("--no-progress", o->no_progress, "Never draw a progress bar");
  cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      // Everything the user typed is checked before any work is done.
      Tree tree;
      for (const auto& t : o->tags) TRY(set_tag(tree.tags, t));
      ImageConfig cfg{o->entrypoint, o->cmd, o->env, o->workdir, o->user, o->ports};
      if (!cfg.empty()) tree.config = TRY(image_config_from_json(image_config_to_json(cfg)));  // validates env entries
      auto router = TRY(open_router(o->stores, true));
      std::vector<std::string> notes;
      auto start = std::chrono::steady_clock::now();
      PackStats stats = TRY_CTX(pack(o->source, *router, tree, {o->threads, !o->no_progress, &notes}), "packing " + o->source);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      for (const auto& n : notes) spdlog::info("{}", n);
      tree.routes = router->routes();
      TRY(save_flist(o->output, tree));
      fmt::print(stderr, "packed {} files, {} in {} blocks ({} new, {} sent) in {:.2f}s → {}\n", stats.files, human_bytes(stats.bytes),
          stats.blocks, stats.blocks_sent, human_bytes(stats.bytes_sent), secs, o->output);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
