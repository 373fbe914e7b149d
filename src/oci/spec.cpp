#include <fcntl.h>
#include <unistd.h>

#include "common/fd.hpp"
#include "oci/oci_cli.hpp"
#include "runtime/secure_defaults.hpp"

namespace tiffin::oci {

void add_spec(CLI::App& app, Globals& g) {
  auto* bundle = &g.keep<std::string>(".");
  auto* cmd = app.add_subcommand("spec", "write a config.json with tiffin's secure defaults");
  cmd->add_option("-b,--bundle", *bundle, "where to write config.json");
  cmd->add_flag("--rootless")->description("accepted for runc compatibility");
  cmd->callback([&g, bundle] {
    run_verb(g, [&]() -> Result<int> {
      std::string path = *bundle + "/config.json";
      if (::access(path.c_str(), F_OK) == 0) return fail(Errc::conflict, "File " + path + " exists. Remove it first");
      std::string text = runtime::spec_to_json(runtime::default_spec(), true);
      TRY(write_file_atomic(path, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), 0644));
      return 0;
    });
  });
}

}  // namespace tiffin::oci
