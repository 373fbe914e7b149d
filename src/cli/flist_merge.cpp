// tiffin flist merge -o out.fl a.fl b.fl…
#include "cli/cli.hpp"
#include "flist/flist_file.hpp"
#include "flist/merge.hpp"

namespace tiffin::cli {

void add_flist_merge(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string output;
    std::vector<std::string> layers;
    bool first_wins = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = flist.add_subcommand("merge", "Merge flists as layers (later wins, OCI whiteouts honoured)");
  cmd->add_option("-o,--output", o->output, "The merged .fl to write")->required();
  cmd->add_option("layers", o->layers, "Layers, bottom first")->required()->expected(2, -1);
  cmd->add_flag("--first-wins", o->first_wins, "The first layer is the top one (0-flist's merge)");
  cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::vector<Tree> layers;
      for (const auto& l : o->layers) layers.push_back(TRY(load_flist(l)));
      TRY(save_flist(o->output, merge(layers, {o->first_wins})));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
