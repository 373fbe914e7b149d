#include <nlohmann/json.hpp>

#include "oci/oci_cli.hpp"

namespace tiffin::oci {

void add_list(CLI::App& app, Globals& g) {
  auto* format = &g.keep<std::string>("table");
  auto* quiet = &g.keep<bool>(false);
  auto* cmd = app.add_subcommand("list", "list containers");
  cmd->alias("ls");
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_flag("-q,--quiet", *quiet, "ids only");
  cmd->callback([&g, format, quiet] {
    run_verb(g, [&]() -> Result<int> {
      auto all = TRY(runtime::list_containers(g.rt));
      if (*quiet) {
        for (const auto& c : all) std::printf("%s\n", c.state.id.c_str());
      } else if (*format == "json") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& c : all) out.push_back(nlohmann::json::parse(runtime::oci_state_json(c.state, c.status)));
        std::printf("%s\n", out.dump().c_str());
      } else {
        std::printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
        for (const auto& c : all)
          std::printf("%-20s %-8d %-10s %-40s %s\n", c.state.id.c_str(), c.status == runtime::Status::stopped ? 0 : c.state.pid,
              runtime::status_name(c.status), c.state.bundle.c_str(), c.state.created.c_str());
      }
      return 0;
    });
  });
}

}  // namespace tiffin::oci
