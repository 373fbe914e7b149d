#include <unistd.h>

#include "common/fd.hpp"
#include "oci/oci_cli.hpp"
#include "runtime/spec.hpp"

namespace tiffin::oci {
namespace {

struct UpdateFlags {
  std::string id, resources_file, cpuset_cpus, cpuset_mems;
  std::optional<int64_t> memory, memory_reservation, memory_swap, cpu_quota, pids_limit;
  std::optional<uint64_t> cpu_shares, cpu_period;
};

}  // namespace

void add_update(CLI::App& app, Globals& g) {
  auto& f = g.keep<UpdateFlags>();
  auto* cmd = app.add_subcommand("update", "change a container's resource limits");
  cmd->add_option("-r,--resources", f.resources_file, "linux.resources JSON file ('-' for stdin)");
  cmd->add_option("--memory", f.memory, "memory limit in bytes");
  cmd->add_option("--memory-reservation", f.memory_reservation, "memory soft limit in bytes");
  cmd->add_option("--memory-swap", f.memory_swap, "memory + swap limit in bytes");
  cmd->add_option("--cpu-shares", f.cpu_shares, "CPU shares");
  cmd->add_option("--cpu-quota", f.cpu_quota, "CFS quota (µs per period)");
  cmd->add_option("--cpu-period", f.cpu_period, "CFS period (µs)");
  cmd->add_option("--cpuset-cpus", f.cpuset_cpus, "CPUs to run on");
  cmd->add_option("--cpuset-mems", f.cpuset_mems, "memory nodes");
  cmd->add_option("--pids-limit", f.pids_limit, "maximum number of processes");
  cmd->add_option("id", f.id, "container id")->required();
  cmd->callback([&g, &f] {
    run_verb(g, [&]() -> Result<int> {
      runtime::Resources r;
      if (!f.resources_file.empty()) {
        Bytes text = TRY_CTX(read_file(f.resources_file == "-" ? "/dev/stdin" : f.resources_file, 1 << 20), "reading resources");
        r = TRY(runtime::parse_resources_json(std::string(text.begin(), text.end())));
      }
      if (f.memory) r.memory_limit = f.memory;
      if (f.memory_reservation) r.memory_reservation = f.memory_reservation;
      if (f.memory_swap) r.memory_swap = f.memory_swap;
      if (f.cpu_shares) r.cpu_shares = f.cpu_shares;
      if (f.cpu_quota) r.cpu_quota = f.cpu_quota;
      if (f.cpu_period) r.cpu_period = f.cpu_period;
      if (!f.cpuset_cpus.empty()) r.cpuset_cpus = f.cpuset_cpus;
      if (!f.cpuset_mems.empty()) r.cpuset_mems = f.cpuset_mems;
      if (f.pids_limit) r.pids_limit = f.pids_limit;
      TRY(runtime::update_container(g.rt, f.id, r));
      return 0;
    });
  });
}

}  // namespace tiffin::oci
