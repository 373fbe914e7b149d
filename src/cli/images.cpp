// tiffin images [-q] [--digests] [--no-trunc] [--format table|json|TEMPLATE|'table TEMPLATE']: the local store.
#include <fmt/core.h>

#include "api/docker_format.hpp"
#include "cli/cli.hpp"
#include "common/progress.hpp"

namespace tiffin::cli {

void add_images(CLI::App& app, Context& ctx) {
  auto format = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto digests = std::make_shared<bool>(false);
  auto no_trunc = std::make_shared<bool>(false);
  CLI::App* images = app.add_subcommand("images", "List the images of the local store");
  images->add_option("--format", *format,
      "table, json (docker's: a row's JSON object per line, as '{{json .}}'), a Go template ({{.Repository}}) or "
      "'table TEMPLATE' (docker's fields; see `tiffin image inspect` for an image's source)");
  images->add_flag("--no-trunc", *no_trunc, "Full ids (sha256:…) with -q and in templates");
  images->add_flag("-q,--quiet", *quiet, "Only ids");
  images->add_flag("--digests", *digests, "Show the registry digest of images pulled from registries");
  images->callback([&ctx, format, quiet, digests, no_trunc] {
    ctx.run([&]() -> Result<int> {
      auto f = TRY(api::ListFormat::parse(*format));
      auto e = TRY(ctx.open_engine());
      auto list = TRY(e.images());
      if (f.kind() != api::ListFormat::Kind::default_table) {
        for (const auto& i : list)
          for (const auto& row : api::image_rows(i, !*no_trunc, *digests)) TRY(f.add(row));
        fmt::print("{}", f.finish(api::image_headers()));
        return 0;
      }
      if (!*quiet && *digests) fmt::print("{:<50}{:<73}{:<16}{}\n", "REPOSITORY:TAG", "DIGEST", "IMAGE ID", "SIZE");
      else if (!*quiet) fmt::print("{:<50}{:<16}{:<14}{}\n", "REPOSITORY:TAG", "IMAGE ID", "SIZE", "SOURCE");
      for (const auto& i : list) {
        if (*quiet) {
          fmt::print("{}\n", *no_trunc ? "sha256:" + i.id : engine::short_id(i.id));
          continue;
        }
        std::vector<std::string> names = i.tags.empty() ? std::vector<std::string>{"<none>"} : i.tags;
        for (const auto& n : names) {
          if (*digests) {
            std::string d = engine::image_digest(i);
            fmt::print("{:<50}{:<73}{:<16}{}\n", n, d.empty() ? "<none>" : d, engine::short_id(i.id), human_bytes(i.size));
          } else {
            fmt::print("{:<50}{:<16}{:<14}{}\n", n, engine::short_id(i.id), human_bytes(i.size), i.source);
          }
        }
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
