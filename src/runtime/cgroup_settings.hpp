// linux.resources translated into cgroup file writes, without touching the filesystem, so the
// translation is testable anywhere. v1 and v2 name and scale things differently (cpu.shares vs
// cpu.weight, memory.memsw.limit_in_bytes = memory + swap vs memory.swap.max = swap alone).
#pragma once

#include <string>
#include <vector>

#include "runtime/spec.hpp"

namespace tiffin::runtime {

struct CgroupWrite {
  std::string controller;  // the v1 controller whose hierarchy holds the file; "" on v2
  std::string file;
  std::string value;
};

// v1 writes, in an order the kernel accepts. Device rules start from deny-all and always allow
// the devices every container gets (null, zero, full, tty, random, urandom, ptmx and pts).
std::vector<CgroupWrite> cgroup_v1_writes(const Resources& r);
// v2 writes. Device rules are not among them: v2 enforces devices with an eBPF program.
std::vector<CgroupWrite> cgroup_v2_writes(const Resources& r);

// runc's mapping of cpu.shares (2..262144) onto cpu.weight (1..10000).
uint64_t cpu_shares_to_weight(uint64_t shares);

}  // namespace tiffin::runtime
