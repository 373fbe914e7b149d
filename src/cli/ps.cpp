// tiffin ps [-a] [-q] [--no-trunc] [-f KEY=VALUE]… [--format table|json|TEMPLATE|'table TEMPLATE']
#include <fmt/core.h>

#include <array>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"

namespace tiffin::cli {
namespace {

// Characters, not bytes: an image name shortened with "…" is as wide as any other.
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

}  // namespace

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
        // Columns as wide as their widest cell plus three spaces, as docker's tabwriter does.
        std::vector<std::array<std::string, 6>> rows{{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"}};
        for (const auto& c : list) {
          std::string image = c.image.size() > 28 ? "…" + c.image.substr(c.image.size() - 27) : c.image;
          rows.push_back({o->no_trunc ? c.id : engine::short_id(c.id), image, api::command_text(c), api::time_ago(c.created),
              api::status_text(c), c.name});
        }
        std::array<size_t, 6> width{};
        for (const auto& row : rows)
          for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], display_width(row[i]));
        for (const auto& row : rows) {
          for (size_t i = 0; i + 1 < row.size(); ++i) out += row[i] + std::string(width[i] + 3 - display_width(row[i]), ' ');
          out += row.back() + "\n";
        }
      }
      fmt::print("{}", out);
      return 0;
    });
  });
}

}  // namespace tiffin::cli
