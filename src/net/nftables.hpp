// nft commands applied through libnftables, which is loaded with dlopen at the first call: the
// lean `tiffin` must not need it (and its half-dozen dependencies) to start for `ps` or `logs`.
// A libnftables context opens its netlink socket when it is made, in the calling thread's
// network namespace, and each call makes its own: inside run_in_netns() these act on that
// namespace.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "net/nft_ruleset.hpp"

namespace tiffin::net {

// Runs `commands` (nft's own syntax, any number of lines) as one transaction: all of it applies
// or none. On failure the error carries nft's own message (the line and what is wrong with it).
// Errc::unsupported when libnftables is not installed.
Result<void> nft_apply(const std::string& commands);
// `list table <table>` (nft_ruleset.hpp's kNftTable unless given), as nft's text or (json) its
// JSON; Errc::not_found when the table does not exist.
Result<std::string> nft_list_table(bool json = false, std::string_view table = kNftTable);

}  // namespace tiffin::net
