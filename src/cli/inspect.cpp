// tiffin inspect [-f FORMAT] [--type container|image] NAME…: the JSON the Engine API answers
// (api/docker_view), or a Go template run on it per object (api/docker_format). As docker's, a
// name is looked up among containers first, then images (their document carries the publisher
// signer: TiffinSigner).
#include <fmt/core.h>

#include "api/docker_format.hpp"
#include "api/docker_view.hpp"
#include "cli/cli.hpp"
#include "engine/image_reference.hpp"

namespace tiffin::cli {
namespace {

// An image of the store by name or id; never fetched or imported (an .fl path or a directory
// is not an image of the store).
Result<std::optional<engine::ImageInfo>> stored_image(engine::Engine& e, const std::string& ref) {
  auto parsed = engine::parse_image_reference(ref);
  if (!parsed || (parsed->kind != engine::ImageReference::Kind::local && parsed->kind != engine::ImageReference::Kind::hub))
    return std::optional<engine::ImageInfo>{};
  auto found = e.resolve_image(ref, "never");
  if (!found) {
    if (found.error().kind == Errc::not_found) return std::optional<engine::ImageInfo>{};
    return std::unexpected(found.error());
  }
  return std::optional<engine::ImageInfo>{*found};
}

}  // namespace

void add_inspect(CLI::App& app, Context& ctx) {
  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  auto type = std::make_shared<std::string>();
  CLI::App* inspect = app.add_subcommand("inspect", "Show containers or images (JSON)");
  inspect->add_option("names", *refs, "Containers (name or id), else images (name[:tag] or id)")->required();
  inspect->add_option("-f,--format", *format, "json, or a Go template run on each object ({{.State.Pid}})");
  inspect->add_option("--type", *type, "Look only among containers or images")->check(CLI::IsMember({"container", "image"}));
  inspect->callback([&ctx, refs, format, type] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      std::vector<nlohmann::json> objects;
      for (const auto& r : *refs) {
        if (*type != "image") {
          auto info = e.inspect(r);
          if (info) {
            objects.push_back(api::inspect_json(e, *info));
            continue;
          }
          if (info.error().kind != Errc::not_found || *type == "container") return std::unexpected(info.error());
        }
        auto image = TRY(stored_image(e, r));
        if (!image) return fail(Errc::not_found, (type->empty() ? "no such object: " : "no such image: ") + r);
        objects.push_back(api::image_inspect_json(e, *image));
      }
      fmt::print("{}", TRY(api::format_inspect(*format, objects)));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
