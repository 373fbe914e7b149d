// How containers look on the command line: docker's JSON (inspect, ps --format json) and the
// columns of `ps`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "engine/engine.hpp"

namespace tiffin::cli {

// docker's NetworkSettings: each network's address, gateway and MAC, and the published ports.
nlohmann::json network_settings_json(engine::Engine& e, const engine::ContainerInfo& c);

nlohmann::json container_json(const engine::ContainerInfo& c);  // with State.Health when it has a health check
// docker's Mounts: each volume (its name and where it lives) and bind mount.
nlohmann::json mounts_json(engine::Engine& e, const engine::ContainerInfo& c);
std::string status_text(const engine::ContainerInfo& c);   // "Up", "Exited (3)" …
std::string command_text(const engine::ContainerInfo& c);  // the command, quoted, shortened
std::string time_ago(int64_t unix_time);                   // "3 minutes ago"

}  // namespace tiffin::cli
