// How containers look to docker's tools: the JSON of the Engine API (GET /containers/{id}/json,
// GET /containers/json), which `tiffin inspect` prints too, and the columns of `ps`. One
// rendering for the CLI and the API, so a script sees the same document either way.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "engine/engine.hpp"

namespace tiffin::api {

// docker's ContainerJSON: Id, Created, Path, Args, State (with Health), Image, Name "/name",
// RestartCount, HostConfig, Config (the image's config under the container's), Mounts,
// NetworkSettings.
nlohmann::json inspect_json(engine::Engine& e, const engine::ContainerInfo& c);
// An entry of GET /containers/json: Id, Names, Image, ImageID, Command, Created, Ports, Labels,
// State, Status, HostConfig.NetworkMode, NetworkSettings.Networks, Mounts.
nlohmann::json list_json(engine::Engine& e, const engine::ContainerInfo& c);
// The same with the container's image config at hand (a listing reads each image's once).
nlohmann::json list_json(engine::Engine& e, const engine::ContainerInfo& c, const ImageConfig& image);

// docker's NetworkSettings: each network's address, gateway and MAC, and the published ports.
nlohmann::json network_settings_json(engine::Engine& e, const engine::ContainerInfo& c);
// docker's Mounts: each volume (its name and where it lives) and bind mount.
nlohmann::json mounts_json(engine::Engine& e, const engine::ContainerInfo& c);

// docker's network document; with the containers on it (inspect) or without (ls).
nlohmann::json network_json(engine::Engine& e, const engine::Network& n, bool with_containers);
// A repository name docker's reference grammar takes ("busybox", "host:5000/team/app"); not a
// path.
bool reference_name_valid(std::string_view name);
// GET /networks: tiffin's networks and docker's fixed host and none.
Result<nlohmann::json> network_list_json(engine::Engine& e);
// docker's image document (Id, RepoTags, RepoDigests, Created, Size, Config …) and list entry.
// The document adds tiffin's TiffinSigner (the hex key of a valid publisher signature, one the
// node trusts first; "" when unsigned) and TiffinSignerTrusted (Engine::image_signatures).
nlohmann::json image_inspect_json(engine::Engine& e, const engine::ImageInfo& image);
// The signer of a stored image as image_inspect_json shows it (empty when it cannot be read).
engine::FlistSigner image_signer(engine::Engine& e, const engine::ImageInfo& image);
nlohmann::json image_list_json(const engine::ImageInfo& image);
// docker's volume document (Name, Driver, Mountpoint, CreatedAt …), with tiffin's SizeMiB.
nlohmann::json volume_json(const engine::VolumeInfo& v);

std::string status_text(const engine::ContainerInfo& c);   // "Up 3 minutes (healthy)", "Exited (3) 2 hours ago" …
std::string command_text(const engine::ContainerInfo& c);  // the command, quoted, shortened
std::string time_ago(int64_t unix_time);                   // "3 minutes ago"
std::string duration_text(int64_t seconds);                // docker's "About a minute", "3 hours" …
// RFC 3339 (UTC, seconds) of a unix time, as docker writes Created.
std::string rfc3339(int64_t unix_time);
// The same with nanoseconds ("2026-12-06T05:00:00.123456789Z"), from unix nanoseconds.
std::string rfc3339_nano(int64_t unix_nanos);
// docker's name of this machine's architecture (amd64, arm64).
std::string host_architecture();

}  // namespace tiffin::api
