// Registry credentials in docker's format: {"auths": {"<registry>": {"auth": base64(user:pass)}}}.
// Read from, in order: $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json (podman's),
// $DOCKER_CONFIG/config.json or ~/.docker/config.json (docker's). `tiffin login` writes the
// first of these that is set (default: ~/.docker/config.json), mode 0600, atomically; other keys
// in the file are kept. docker.io is stored as "https://index.docker.io/v1/", as docker does.
#pragma once

#include <optional>
#include <string>

#include "common/error.hpp"

namespace tiffin::image {

struct Credentials {
  std::string username, password;  // or an identity token in password with username "<token>"
};

// base64("user:password"): a file's "auth" value and what HTTP Basic authorization sends.
std::string encode_auth(const Credentials& c);

// The file login writes to and lookups read first.
std::string credentials_file();
Result<std::optional<Credentials>> find_credentials(const std::string& registry);
Result<void> store_credentials(const std::string& registry, const Credentials& c);
// Errc::not_found when there were none.
Result<void> remove_credentials(const std::string& registry);

}  // namespace tiffin::image
