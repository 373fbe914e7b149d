// What the engine's monitor will do, and nothing more: find a process's cgroup from its pid and
// read its stats, with cgroup_layout and cgroup_stats alone. Built so a CTest can check with nm
// that this does not pull the runtime's cgroup.cpp (Cgroup, std::filesystem) into a binary.
#include <cstdio>
#include <string>

#include "common/fd.hpp"
#include "runtime/cgroup_layout.hpp"
#include "runtime/cgroup_stats.hpp"

int main(int argc, char** argv) {
  using namespace tiffin;
  std::string pid = argc > 1 ? argv[1] : "self";
  auto layout = runtime::detect_cgroup_layout();
  auto text = read_file("/proc/" + pid + "/cgroup", 1 << 16);
  if (!layout || !text) return 1;
  auto dirs = runtime::cgroup_dirs_from_proc(*layout, std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  runtime::CgroupStats s = runtime::read_cgroup_stats(layout->mode, dirs);
  std::printf("%s memory %llu cpu %llu pids %llu\n", dirs.empty() ? "-" : dirs.back().c_str(),
      static_cast<unsigned long long>(s.memory_usage), static_cast<unsigned long long>(s.cpu_usage),
      static_cast<unsigned long long>(s.pids_current));
  return 0;
}
