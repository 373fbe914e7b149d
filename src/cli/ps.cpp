// tiffin ps [-a] [-q] [--no-trunc] [-f KEY=VALUE]… [--format table|json|TEMPLATE|'table TEMPLATE']
#include <fmt/core.h>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "api/go_template.hpp"
#include "cli/cli.hpp"

namespace tiffin::cli {

void add_ps(CLI::App& app, Context& ctx) {
  struct Opts {
    bool all = false, quiet = false, no_trunc = false;
    std::vector<std::string> filters;
    std::string format;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("ps", "List containers");
  cmd->add_flag("-a,--all", o->all, "Show all containers (default: running ones)");
  cmd->add_flag("-q,--quiet", o->quiet, "Only ids");
  cmd->add_flag("--no-trunc", o->no_trunc, "Full ids");
  cmd->add_option("-f,--filter", o->filters, "name=, id=, status=, ancestor=, exited=, label=key[=value], health=");
  cmd->add_option("--format", o->format,
      "table, json (docker's: a row's JSON object per line, as '{{json .}}'), a Go template ({{.Names}}) or 'table TEMPLATE' "
      "(docker's fields)");
  cmd->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      auto filter = TRY(engine::parse_container_filter(o->all, o->filters));
      auto format = TRY(api::ListFormat::parse(o->format));
      auto e = TRY(ctx.open_engine());
      auto list = TRY(e.list(filter));
      if (format.kind() != api::ListFormat::Kind::default_table) {
        for (const auto& c : list) TRY(format.add(api::ps_row(e, c, !o->no_trunc)));
        fmt::print("{}", format.finish(api::ps_headers()));
        return 0;
      }
      std::string out;
      if (o->quiet) {
        for (const auto& c : list) out += (o->no_trunc ? c.id : engine::short_id(c.id)) + "\n";
      } else {
        // Columns as wide as their widest cell plus three spaces: docker's tabwriter.
        std::string table = "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tNAMES\n";
        for (const auto& c : list) {
          std::string image = c.image.size() > 28 ? "…" + c.image.substr(c.image.size() - 27) : c.image;
          table += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", o->no_trunc ? c.id : engine::short_id(c.id), image, api::command_text(c),
              api::time_ago(c.created), api::status_text(c), c.name);
        }
        out = api::tabwrite(table);
      }
      fmt::print("{}", out);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
