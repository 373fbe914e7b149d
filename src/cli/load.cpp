// tiffin load [-i ARCHIVE]: images from a `docker save` / oci-archive tar (or stdin).
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_load(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string input = "-", platform;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* load = app.add_subcommand("load", "Load images from a docker-archive or oci-archive tar (docker save, podman save, skopeo)");
  load->add_option("-i,--input", o->input, "The archive, or an OCI layout / docker archive directory (default: stdin)");
  load->add_option("--platform", o->platform, "os/arch[/variant] of a multi-platform image (default: this host's)");
  load->add_flag("-q,--quiet", o->quiet, "No progress");
  load->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (o->quiet) ctx.engine.progress = false;
      auto e = TRY(ctx.open_engine());
      engine::PullOptions po;
      po.platform = o->platform;
      for (const auto& info : TRY(e.load(o->input, po))) {
        if (info.tags.empty()) fmt::print("Loaded image ID: {}\n", info.id);
        for (const auto& t : info.tags) fmt::print("Loaded image: {}\n", t);
      }
      return 0;
    });
  });
}

}  // namespace tiffin::cli
