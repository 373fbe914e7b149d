// What a node has and what its workloads reserved: `tiffin node info` / `node disks`, and the
// API's /zos/v1/node/info and /disks.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "zos/zos_node.hpp"

namespace tiffin::zos {

struct Disk {
  std::string name;   // sda, nvme0n1, vda
  uint64_t size = 0;  // bytes
  std::string type;   // hdd (rotational) or ssd
};

// The host's block devices from /sys/block, without loop, ram, zram and device-mapper ones.
std::vector<Disk> host_disks();
nlohmann::json disks_json(const std::vector<Disk>& disks);
// {node_id, cpus, memory (bytes), disks, reserved: {workloads, cpu, memory_mib, disk_mib}}
nlohmann::json node_capacity(ZosNode& node);

}  // namespace tiffin::zos
