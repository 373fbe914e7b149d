// Times in Zero-OS documents: tfexplorer writes them as unix seconds and signs them as "%d" of
// the seconds; users and tools write RFC 3339. Both read here, to unix seconds.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace tiffin::zos {

// "2020-06-01T12:00:00Z", "2020-06-01T14:00:00.5+02:00" (T or t, Z or z; a fraction of a
// second is dropped, as Go's Time.Unix() does). Errc::invalid_input otherwise, leap seconds too.
Result<int64_t> parse_rfc3339(std::string_view text);

// A JSON integer (unix seconds) or an RFC 3339 string; `field` names it in messages.
Result<int64_t> epoch_from_json(const nlohmann::json& v, const std::string& field);

}  // namespace tiffin::zos
