// Bytes, 32-byte digests and their hex form: dependency-free (tiffin_base), for ids everywhere.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tiffin {

using Hash = std::array<uint8_t, 32>;
using Bytes = std::vector<uint8_t>;

std::string to_hex(std::span<const uint8_t> bytes);
// Parses lower- or upper-case hex; nullopt on odd length or a non-hex character.
std::optional<Bytes> from_hex(std::string_view hex);
std::optional<Hash> hash_from_hex(std::string_view hex);

}  // namespace tiffin
