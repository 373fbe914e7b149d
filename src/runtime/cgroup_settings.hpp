// linux.resources translated into cgroup file writes, without touching the filesystem, so the
// translation is testable anywhere. v1 and v2 name and scale things differently (cpu.shares vs
// cpu.weight, memory.memsw.limit_in_bytes = memory + swap vs memory.swap.max = swap alone), and
// some fields exist in one only: those the other cannot honour come out as refusals, which
// Cgroup::apply turns into an error naming the field when it would have to use them. Nothing
// that was asked for is dropped.
#pragma once

#include <string>
#include <vector>

#include "runtime/spec.hpp"

namespace tiffin::runtime {

struct CgroupWrite {
  // The v1 name of the controller whose files these are ("blkio" also for v2's io): a hybrid
  // host takes each controller from v1 where it is mounted, else from the unified hierarchy.
  // "unified" for linux.resources.unified, which only a v2 hierarchy can take.
  std::string controller;
  std::string file;
  std::string value;
  std::string field;      // the linux.resources field, for errors: "memory.swappiness"
  std::string alt_file;   // written instead when `file` is missing (blkio.weight → blkio.bfq.weight)
  std::string alt_value;  // its value, when it differs
  bool verify = false;    // read back: some kernels take the write and ignore it (kmem)
  std::string refused;    // non-empty: this version cannot honour the field, and why
};

// v1 writes, in an order the kernel accepts. Device rules start from deny-all and always allow
// the devices every container gets (null, zero, full, tty, random, urandom, ptmx and pts).
std::vector<CgroupWrite> cgroup_v1_writes(const Resources& r);
// v2 writes. Device rules are not among them: v2 enforces devices with an eBPF program.
std::vector<CgroupWrite> cgroup_v2_writes(const Resources& r);

// runc's mapping of cpu.shares (2..262144) onto cpu.weight (1..10000).
uint64_t cpu_shares_to_weight(uint64_t shares);
// runc's mapping of a blkio weight (10..1000) onto io.weight (1..10000).
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// The v2 name of a controller CgroupWrite names by its v1 name ("blkio" → "io").
std::string v2_controller_name(const std::string& v1_name);

}  // namespace tiffin::runtime
