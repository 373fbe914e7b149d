// tiffin attach [--no-stdin] CONTAINER
#include "cli/attach_client.hpp"
#include "cli/cli.hpp"

namespace tiffin::cli {

void add_attach(CLI::App& app, Context& ctx) {
  auto ref = std::make_shared<std::string>();
  auto no_stdin = std::make_shared<bool>(false);
  CLI::App* attach = app.add_subcommand("attach", "Attach to a running container's output (and input)");
  attach->add_option("container", *ref)->required();
  attach->add_flag("--no-stdin", *no_stdin, "Do not attach stdin");
  attach->callback([&ctx, ref, no_stdin] {
    ctx.run([&]() -> Result<int> {
      auto e = TRY(ctx.open_engine());
      auto info = TRY(e.inspect(*ref));
      bool with_stdin = info.config.interactive && !*no_stdin;
      auto session = TRY(e.attach(info.id, with_stdin));
      if (auto size = terminal_size(); info.config.tty && size) TRY(session.send(*size));
      auto code = attach_session(session, with_stdin, info.config.tty, [&](int signal) { (void)e.kill(info.id, signal); });
      if (!code && code.error().kind == Errc::unavailable) return e.wait(info.id);
      return code;
    });
  });
}

}  // namespace tiffin::cli
