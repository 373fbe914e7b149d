// Environment entries that must never be written to disk (a workload's decrypted secret
// environment) travel from process to process in memory only: an anonymous memfd, sealed so no
// holder can change it, holding NUL-separated KEY=value entries. The engine makes one, the
// container's shim holds it for the container's life and hands it to the OCI runtime at every
// (re)start (tiffin-oci create/run --env-fd), which adds the entries to the process's
// environment in memory; the bundle's config.json never holds them.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace tiffin {

// At most this much: environments are small, and a reader must not be made to hold gigabytes.
inline constexpr size_t kMaxEnvMemfdBytes = 1 << 20;

// Each entry is KEY=value with a non-empty KEY without '=' and no NUL anywhere (invalid_input).
Result<UniqueFd> make_env_memfd(const std::vector<std::string>& entries);
// Reads all entries from the start (pread: the descriptor's offset is shared and left alone).
Result<std::vector<std::string>> read_env_memfd(int fd);
// `env` with `entries` set in it: an entry replaces the one with its key, else is appended.
void merge_env(std::vector<std::string>& env, const std::vector<std::string>& entries);

}  // namespace tiffin
