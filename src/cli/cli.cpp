#include "cli/cli.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <fmt/core.h>
#include <spdlog/spdlog.h>

namespace tiffin::cli {
namespace {
int g_exit = 0;
}

int exit_code_for(const Error& e) {
  switch (e.kind) {
    case Errc::invalid_input:
    case Errc::not_found:
    case Errc::conflict:
    case Errc::denied:
      return 2;
    default:
      return 1;
  }
}

void run_verb(const std::function<Result<int>()>& body) {
  auto r = body();
  if (r) {
    g_exit = *r;
    return;
  }
  spdlog::error("{}", r.error().message);
  g_exit = exit_code_for(r.error());
}

Result<std::shared_ptr<Router>> stores_for(const Tree& tree, const std::vector<std::string>& specs) {
  if (!specs.empty()) return open_router(specs);
  if (tree.routes.empty()) return fail(Errc::invalid_input, "the flist has no routes; name a store with -s");
  return open_routes(tree.routes);
}

bool want_json(const std::string& format) { return format == "json"; }

void print_json(const nlohmann::json& j, int indent) {
  fmt::print("{}\n", j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace));
}

Result<void> set_tag(std::map<std::string, std::string>& tags, const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) return fail(Errc::invalid_input, "tag '" + kv + "' is not key=value");
  tags[kv.substr(0, eq)] = kv.substr(eq + 1);
  return {};
}

int run(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("tiffin");
  logger->set_pattern("tiffin: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::info);

  CLI::App app{"tiffin — a container engine for flists", "tiffin"};
  app.set_version_flag("--version", std::string("tiffin ") + TIFFIN_VERSION);
  bool debug = false;
  app.add_flag("--debug", debug, "Verbose logging");
  app.require_subcommand(1);
  app.parse_complete_callback([&] {
    if (debug) spdlog::set_level(spdlog::level::debug);
  });

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return g_exit;
}

}  // namespace tiffin::cli
