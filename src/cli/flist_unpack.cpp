// tiffin flist unpack x.fl <dir>
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "cli/cli.hpp"
#include "common/progress.hpp"
#include "flist/flist_file.hpp"
#include "flist/unpack.hpp"

namespace tiffin::cli {

void add_flist_unpack(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string flist, dest;
    std::vector<std::string> stores;
    bool no_same_owner = false, no_progress = false, strict = false;
    unsigned threads = 0;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = flist.add_subcommand("unpack", "Restore an flist's files into a directory");
  cmd->add_option("flist", o->flist, "The .fl file")->required();
  cmd->add_option("dest", o->dest, "Destination directory (created if missing; existing entries are never overwritten)")->required();
  cmd->add_option("-s,--store", o->stores, "Read blocks from these stores instead of the flist's routes");
  cmd->add_flag("--no-same-owner", o->no_same_owner, "Do not chown to the flist's owners (the default when not root)");
  cmd->add_option("-j,--threads", o->threads, "Parallel fetches");
  cmd->add_flag("--no-progress", o->no_progress, "Never draw a progress bar");
  cmd->add_flag("--strict", o->strict,
      "Refuse an flist with damaged files (files whose blocks do not cover their size) instead of unpacking them empty");
  cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      auto router = TRY(stores_for(tree, o->stores));
      std::vector<std::string> warnings;
      UnpackOptions opts{o->threads, !o->no_progress, !o->no_same_owner && ::geteuid() == 0, &warnings, o->strict};
      UnpackStats stats = TRY_CTX(unpack(tree, *router, o->dest, opts), "unpacking " + o->flist);
      for (const auto& w : warnings) spdlog::warn("{}", w);
      fmt::print(stderr, "unpacked {} entries, {} into {}\n", stats.files, human_bytes(stats.bytes), o->dest);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
