// tiffin mount CONTAINER: its root filesystem's path on the host (podman's mount).
#include <fmt/core.h>

#include "cli/cli.hpp"

namespace tiffin::cli {

void add_mount(CLI::App& app, Context& ctx) {
  auto ref = std::make_shared<std::string>();
  CLI::App* mount = app.add_subcommand("mount", "Mount a container's root filesystem and print its path (rm unmounts it)");
  mount->add_option("container", *ref)->required();
  mount->callback([&ctx, ref] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      fmt::print("{}\n", TRY(e.mount_rootfs(*ref)));
      return 0;
    });
  });
}

}  // namespace tiffin::cli
