#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/subprocess.hpp"
#include "common/text.hpp"
#include "oci/oci_cli.hpp"

namespace tiffin::oci {

void add_ps(CLI::App& app, Globals& g) {
  auto* id = &g.keep<std::string>();
  auto* format = &g.keep<std::string>("table");
  auto* ps_args = &g.keep<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("ps", "the container's processes (json: their pids; table: ps -ef lines)");
  cmd->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("id", *id, "container id")->required();
  cmd->add_option("ps-args", *ps_args, "arguments for ps (default -ef)");
  cmd->callback([&g, id, format, ps_args] {
    run_verb(g, [&]() -> Result<int> {
      auto pids = TRY(runtime::container_pids(g.rt, *id));
      if (*format == "json") {
        std::printf("%s\n", nlohmann::json(pids).dump().c_str());
        return 0;
      }
      // ps prints every process; keep the header and the container's lines (pid in column 2
      // of -ef, or the column headed PID).
      int p[2];
      if (::pipe(p) != 0) return fail_errno("pipe");
      std::vector<std::string> argv = {"ps"};
      if (ps_args->empty()) argv.push_back("-ef");
      argv.insert(argv.end(), ps_args->begin(), ps_args->end());
      pid_t child = TRY(spawn(argv, [&] { return ::dup2(p[1], 1) >= 0; }));
      ::close(p[1]);
      std::string out;
      char buf[65536];
      ssize_t n;
      while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
      ::close(p[0]);
      if (int rc = wait_exit(child); rc != 0) return fail(Errc::io, "ps failed with exit status " + std::to_string(rc));
      std::istringstream lines(out);
      std::string line, header;
      std::getline(lines, header);
      size_t pid_col = 0;
      {
        std::istringstream h(header);
        std::string word;
        for (size_t i = 0; h >> word; ++i)
          if (word == "PID") pid_col = i;
      }
      std::set<pid_t> wanted(pids.begin(), pids.end());
      std::printf("%s\n", header.c_str());
      while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string word;
        for (size_t i = 0; i <= pid_col && fields >> word; ++i) {
        }
        // ps's own output: a field that is no pid (a header repeated, a wrapped line) is no match.
        if (auto pid = parse_int<pid_t>(word); pid && wanted.contains(*pid)) std::printf("%s\n", line.c_str());
      }
      return 0;
    });
  });
}

}  // namespace tiffin::oci
