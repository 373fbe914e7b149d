// tiffin flist check x.fl — every block present and valid in the stores.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "flist/check.hpp"
#include "flist/flist_file.hpp"

namespace tiffin::cli {

void add_flist_check(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string flist, format;
    std::vector<std::string> stores;
    unsigned threads = 0;
    bool no_progress = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd =
      flist.add_subcommand("check", "Validate an flist, report damaged files, and fetch and verify every block (exit 1 on any problem)");
  cmd->add_option("flist", o->flist)->required();
  cmd->add_option("-s,--store", o->stores, "Check these stores instead of the flist's routes");
  cmd->add_option("-j,--threads", o->threads, "Parallel fetches");
  cmd->add_option("--format", o->format, "json for machine-readable output");
  cmd->add_flag("--no-progress", o->no_progress, "Never draw a progress bar");
  cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      auto router = TRY(stores_for(tree, o->stores));
      CheckReport r = TRY(check(tree, *router, o->threads, !o->no_progress));
      if (want_json(o->format)) {
        print_json(nlohmann::json{{"blocks", r.blocks}, {"missing", r.missing}, {"corrupt", r.corrupt}, {"unreachable", r.unreachable},
            {"damaged", r.damaged}, {"problems", r.problems}});
      } else {
        for (const auto& p : r.problems) fmt::print("{}\n", p);
        fmt::print("{}: {} blocks, {} missing, {} corrupt, {} unreachable, {} damaged files\n", r.ok() ? "ok" : "FAILED", r.blocks,
            r.missing, r.corrupt, r.unreachable, r.damaged);
      }
      return r.ok() ? 0 : 1;
    });
  });
}

}  // namespace tiffin::cli
