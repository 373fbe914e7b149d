// tiffin flist tag list|set|rm — set and rm change the tag rows in place, as rfs does.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"

namespace tiffin::cli {

void add_flist_tag(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string flist, format;
    std::vector<std::string> args;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* tag = flist.add_subcommand("tag", "List, set and remove an flist's tags");
  tag->require_subcommand(1);

  CLI::App* list = tag->add_subcommand("list", "List tags");
  list->add_option("flist", o->flist)->required();
  list->add_option("--format", o->format, "json for machine-readable output");
  list->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      if (want_json(o->format)) print_json(nlohmann::json(tree.tags));
      else
        for (const auto& [k, v] : tree.tags) fmt::print("{}={}\n", k, v);
      return 0;
    });
  });

  CLI::App* set = tag->add_subcommand("set", "Set tags");
  set->add_option("flist", o->flist)->required();
  set->add_option("tags", o->args, "key=value …")->required();
  set->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::map<std::string, std::string> tags;
      for (const auto& kv : o->args) TRY(set_tag(tags, kv));
      TRY(set_tags(o->flist, tags));
      return 0;
    });
  });

  CLI::App* rm = tag->add_subcommand("rm", "Remove tags");
  rm->add_option("flist", o->flist)->required();
  rm->add_option("keys", o->args, "key …")->required();
  rm->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      TRY(remove_tags(o->flist, o->args));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
