// tiffin flist diff a.fl b.fl
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "flist/diff.hpp"
#include "flist/flist_file.hpp"

namespace tiffin::cli {

void add_flist_diff(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string a, b, format;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = flist.add_subcommand("diff", "What changed from a.fl to b.fl: A added, D deleted, C changed (exit 1 when they differ)");
  cmd->add_option("a", o->a)->required();
  cmd->add_option("b", o->b)->required();
  cmd->add_option("--format", o->format, "json for machine-readable output");
  cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree a = TRY(load_flist(o->a));
      Tree b = TRY(load_flist(o->b));
      auto changes = diff(a, b);
      if (want_json(o->format)) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& c : changes) arr.push_back({{"kind", std::string(1, c.kind)}, {"path", c.path}, {"what", c.what}});
        print_json(arr);
      } else {
        for (const auto& c : changes) {
          std::string what;
          for (const auto& w : c.what) what += (what.empty() ? " (" : ", ") + w;
          fmt::print("{} {}{}\n", c.kind, c.path, what.empty() ? "" : what + ")");
        }
      }
      return changes.empty() ? 0 : 1;
    });
  });
}

}  // namespace tiffin::cli
