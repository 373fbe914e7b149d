// tiffin save [-o FILE] IMAGE…: images as one archive `docker load` and OCI tools read.
#include <unistd.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_save(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> images;
    std::string output = "-";
  };
  auto o = std::make_shared<Opts>();
  CLI::App* save = app.add_subcommand("save", "Write images to a tar that docker load, podman load and skopeo (oci-archive) read");
  save->add_option("images", o->images, "Images: name[:tag] or id")->required();
  save->add_option("-o,--output", o->output, "The archive to write (default: stdout)");
  save->callback([&ctx, o] {
    ctx.run([&]() -> Result<int> {
      if (o->output == "-" && ::isatty(STDOUT_FILENO))
        return fail(Errc::invalid_input, "refusing to write an archive to a terminal: use -o FILE or a pipe");
      auto e = TRY(ctx.open_engine());
      TRY(e.save(o->images, o->output));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
