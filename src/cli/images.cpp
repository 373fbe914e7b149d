// tiffin images [-q] [--digests] [--no-trunc] [--signers] [--format table|json|TEMPLATE|'table TEMPLATE']: the local
// store. The publisher signer of each image (engine/trust_policy.hpp) costs a read of its flist, so it is shown only when
// asked for: --signers (a SIGNER column; .Signer and .SignerTrusted in templates and --format json); docker's table, rows and
// templates stay docker's.
#include <fmt/core.h>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"
#include "common/progress.hpp"

namespace tiffin::cli {

void add_images(CLI::App& app, Context& ctx) {
  auto format = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto digests = std::make_shared<bool>(false);
  auto no_trunc = std::make_shared<bool>(false);
  auto signers = std::make_shared<bool>(false);
  CLI::App* images = app.add_subcommand("images", "List the images of the local store");
  images->add_option("--format", *format,
      "table, json (docker's: a row's JSON object per line, as '{{json .}}'), a Go template ({{.Repository}}) or "
      "'table TEMPLATE' (docker's fields; see `tiffin image inspect` for an image's source)");
  images->add_flag("--no-trunc", *no_trunc, "Full ids (sha256:…) with -q and in templates");
  images->add_flag("-q,--quiet", *quiet, "Only ids");
  images->add_flag("--digests", *digests, "Show the registry digest of images pulled from registries");
  images->add_flag("--signers", *signers,
      "Show each image's publisher signer (a SIGNER column; .Signer and .SignerTrusted in templates and --format json)");
  images->callback([&ctx, format, quiet, digests, no_trunc, signers] {
    ctx.run([&]() -> Result<int> {
      auto f = TRY(api::ListFormat::parse(*format));
      auto e = TRY(ctx.open_engine());
      auto list = TRY(e.images());
      bool with_signer = *signers;  // docker's rows stay docker's (tests compare them with its CLI)
      if (f.kind() != api::ListFormat::Kind::default_table) {
        for (const auto& i : list) {
          engine::FlistSigner signer = with_signer ? api::image_signer(e, i) : engine::FlistSigner{};
          for (auto row : api::image_rows(i, !*no_trunc, *digests)) {
            if (with_signer) {
              row.fields["Signer"] = signer.key;
              row.fields["SignerTrusted"] = signer.trusted ? "true" : "false";
            }
            TRY(f.add(row));
          }
        }
        nlohmann::json headers = api::image_headers();
        if (with_signer) headers.update({{"Signer", "SIGNER"}, {"SignerTrusted", "TRUSTED"}});
        fmt::print("{}", f.finish(headers));
        return 0;
      }
      // The signer's column: its short key (the whole with --no-trunc), marked when this node
      // does not trust it; "-" for an image no valid signature covers.
      auto signer_text = [&](const engine::ImageInfo& i) {
        engine::FlistSigner s = api::image_signer(e, i);
        if (s.key.empty()) return std::string("-");
        return (*no_trunc ? s.key : s.key.substr(0, 12)) + (s.trusted ? "" : " (untrusted)");
      };
      // Cells padded to their width, the last one as it is.
      using Cells = std::vector<std::pair<std::string, size_t>>;
      auto print_row = [](const Cells& cells) {
        std::string line;
        for (size_t k = 0; k < cells.size(); ++k)
          line += k + 1 < cells.size() ? fmt::format("{:<{}}", cells[k].first, cells[k].second) : cells[k].first;
        fmt::print("{}\n", line);
      };
      size_t signer_width = *no_trunc ? 78 : 26;
      auto row = [&](const std::string& name, const std::string& digest, const std::string& id, const std::string& size,
                     const std::string& signer, const std::string& source) {
        Cells cells = {{name, 50}};
        if (*digests) cells.push_back({digest, 73});
        cells.insert(cells.end(), {{id, 16}, {size, 14}});
        if (*signers) cells.push_back({signer, signer_width});
        if (!*digests) cells.push_back({source, 0});
        print_row(cells);
      };
      if (!*quiet) row("REPOSITORY:TAG", "DIGEST", "IMAGE ID", "SIZE", "SIGNER", "SOURCE");
      for (const auto& i : list) {
        if (*quiet) {
          fmt::print("{}\n", *no_trunc ? "sha256:" + i.id : engine::short_id(i.id));
          continue;
        }
        std::string signer = *signers ? signer_text(i) : "";
        std::string d = engine::image_digest(i);
        std::vector<std::string> names = i.tags.empty() ? std::vector<std::string>{"<none>"} : i.tags;
        for (const auto& n : names) row(n, d.empty() ? "<none>" : d, engine::short_id(i.id), human_bytes(i.size), signer, i.source);
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
