// tiffin flist route list|add|rm — where an flist's blocks are; the blocks are not touched, the route
// rows are changed in place.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/cli.hpp"
#include "flist/flist_edit.hpp"
#include "flist/flist_file.hpp"

namespace tiffin::cli {

void add_flist_route(CLI::App& flist, Context& ctx) {
  struct Opts {
    std::string flist, format;
    std::vector<std::string> args;
    bool replace = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* route = flist.add_subcommand("route", "List and rewrite the stores an flist's blocks are read from");
  route->require_subcommand(1);

  CLI::App* list = route->add_subcommand("list", "List routes");
  list->add_option("flist", o->flist)->required();
  list->add_option("--format", o->format, "json for machine-readable output");
  list->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      Tree tree = TRY(load_flist(o->flist));
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : tree.routes) {
        if (want_json(o->format)) arr.push_back({{"start", r.start}, {"end", r.end}, {"url", r.url}});
        else fmt::print("{:02x}-{:02x}={}\n", r.start, r.end, r.url);
      }
      if (want_json(o->format)) print_json(arr);
      return 0;
    });
  });

  CLI::App* add = route->add_subcommand("add", "Add routes ([xx-xx=]url); passwords are not written");
  add->add_option("flist", o->flist)->required();
  add->add_option("routes", o->args)->required();
  add->add_flag("--replace", o->replace, "Drop the existing routes first");
  add->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      std::vector<Route> routes;
      for (const auto& spec : o->args) {
        StoreSpec s = TRY(parse_store_spec(spec));
        StoreUrl u = TRY(parse_store_url(s.url));
        routes.push_back({s.start, s.end, u.public_url()});
      }
      TRY(add_routes(o->flist, routes, o->replace));
      return 0;
    });
  });

  CLI::App* rm = route->add_subcommand("rm", "Remove the routes with these URLs");
  rm->add_option("flist", o->flist)->required();
  rm->add_option("urls", o->args)->required();
  rm->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      TRY(remove_routes(o->flist, o->args));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
