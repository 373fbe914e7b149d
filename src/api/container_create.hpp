// POST /containers/create's body (docker's Config + HostConfig + NetworkingConfig) as the
// engine's ContainerConfig. Every field tiffin takes is type-checked (a wrong type is a 400
// naming the field); fields tiffin cannot honour are refused rather than silently dropped,
// except the ones docker itself fills with defaults.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "common/error.hpp"
#include "engine/container_config.hpp"

namespace tiffin::api {

// `name`: the ?name= query (may be empty). Anonymous volumes for Config.Volumes are named with
// fresh random ids.
Result<engine::ContainerConfig> config_from_create(const nlohmann::json& body, const std::string& name);

}  // namespace tiffin::api
