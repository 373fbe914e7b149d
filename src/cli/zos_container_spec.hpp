// `zos container new`'s flags and --extraconfig (Zero-OS core's container.create arguments)
// turned into what a tiffin node runs: a `run` command line, networks joined after the start,
// and files written into the container. Pure (no node, no files), so every mapping and every
// refusal is unit-tested.
//
// Zero-OS containers ran coreX as their first process and stayed up with no program of their
// own, waiting for commands; the closest tiffin has is the image's program with its stdin held
// open (`run -d -i`), and `sh` when the image names no program (keep_alive_command).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace tiffin::cli {

struct ZosContainerRequest {
  std::string name, root, hostname;  // hostname: the name when empty, as the seed's zos did
  bool privileged = false;
  std::string ports;        // the seed's --ports: "8080:80,7000:7000" (a -p spec each)
  std::string env;          // the seed's --env: "K=V,K2=V2"
  std::string extraconfig;  // a JSON object; empty is {}
};

struct ZosNetworkJoin {
  std::string network, ip;  // `network connect [--ip IP] NETWORK CONTAINER` once it runs
};

struct ZosContainerPlan {
  std::vector<std::string> run;  // tiffin's arguments: run -d -i --name … ROOT
  std::vector<ZosNetworkJoin> joins;
  std::map<std::string, std::string> files;  // extraconfig's "config": path in the container → content
  std::vector<std::string> notes;            // what was accepted but has no effect here
};

// invalid_input for what Zero-OS would refuse too (or what is not JSON of the right shape);
// unsupported for what Zero-OS did and tiffin cannot (zerotier, macvlan … nics, flists mounted
// as volumes, named cgroups, a storage): each message names the key.
Result<ZosContainerPlan> plan_zos_container(const ZosContainerRequest& r);

// The program a container gets when its image names none.
inline std::vector<std::string> keep_alive_command() { return {"sh"}; }

}  // namespace tiffin::cli
