// The Zero-OS nodes this CLI manages (`tiffin node add NAME URL --token T`), and talking to one:
// its /zos/v1 API over HTTP with the admin token, or a user's signature. The list is
// $XDG_CONFIG_HOME/tiffin/nodes.json (else ~/.config/tiffin/nodes.json), mode 0600: it holds
// admin tokens, as docker's config.json holds registry credentials. Besides "nodes" it may name a
// "default" node (`zos configure` sets it): older tiffins read past the key.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "zos/node_identity.hpp"

namespace tiffin::cli {

struct NodeEntry {
  std::string url;    // http://host:port (the node's `tiffin serve --zos`)
  std::string token;  // its admin token; may be empty (user calls only)
};

std::string nodes_file();
Result<std::map<std::string, NodeEntry>> load_nodes();
// Keeps the default when it still names one of `nodes`.
Result<void> save_nodes(const std::map<std::string, NodeEntry>& nodes);
// The default node's name; "" when none is set.
Result<std::string> default_node();
// not_found when `name` is not one of the nodes.
Result<void> set_default_node(const std::string& name);
// Removes the entry named `name` (and its being the default); not_found when there is none.
Result<void> forget_node(const std::string& name);
// The entry named `name`; not_found naming the file when there is none.
Result<NodeEntry> find_node(const std::string& name);

struct ApiAnswer {
  long status = 0;
  nlohmann::json body;  // null when the body was not JSON
};

// One call to a node's API. `auth`: the Authorization header's value ("" for none).
Result<ApiAnswer> call_node(
    const NodeEntry& node, const std::string& method, const std::string& path, const std::string& auth, const std::string& body = "");
inline std::string bearer(const NodeEntry& n) { return n.token.empty() ? "" : "Bearer " + n.token; }
// "Tiffin-User id=…,time=…,signature=…" for METHOD PATH now, signed with the user's key.
std::string user_authorization(int64_t user, const zos::NodeIdentity& key, const std::string& method, const std::string& path);
// A non-2xx answer as an error carrying the node's message.
Result<nlohmann::json> expect_ok(const ApiAnswer& a, const std::string& what);

// A tiffin verb run on a node (its /zos/v1/node/cli, admin token), its output (stdout and stderr
// together) returned rather than printed. `name` is the node's, for messages.
struct NodeCliAnswer {
  int exit_code = 0;
  std::string output;
};
Result<NodeCliAnswer> cli_on_node(const NodeEntry& node, const std::string& name, const std::vector<std::string>& argv);

// `tiffin --node NAME VERB …` (or TIFFIN_NODE): the verb runs on that node (its /zos/v1/node/cli,
// admin token), its output printed here; the exit code is the verb's.
int run_on_node(const std::string& name, const std::vector<std::string>& argv);

}  // namespace tiffin::cli
