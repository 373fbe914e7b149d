// Names on the hub: "<user>/<name>[:<tag>]", the tag defaulting to "latest". Users, names and
// tags are plain file names ([A-Za-z0-9._-], not starting with '.', at most 128 characters), so
// that none can escape the hub's directories. A name given as "<name>.fl" (the 0-hub form) is
// the name without the suffix.
#pragma once

#include <string>

#include "common/error.hpp"

namespace tiffin::hub {

struct FlistRef {
  std::string user, name, tag = "latest";
  std::string str() const { return user + "/" + name + ":" + tag; }
  // The file name under the user's directory: "<name>:<tag>.fl".
  std::string file_name() const { return name + ":" + tag + ".fl"; }
};

bool valid_name(const std::string& s);

// "user/name[:tag]" (".fl" suffix allowed).
Result<FlistRef> parse_flist_ref(const std::string& s);
// "name[:tag]" within `user`.
Result<FlistRef> parse_flist_name(const std::string& user, const std::string& s);

// A hub location as typed on the command line: "http(s)://host[:port][/prefix]/user/name[:tag]".
struct HubLocation {
  std::string base;  // "http://host:port[/prefix]"
  FlistRef ref;
};
Result<HubLocation> parse_hub_location(const std::string& url);

// A user's namespace on a hub: "http(s)://host[:port][/prefix]/user" (a trailing '/' allowed).
struct HubNamespace {
  std::string base;  // "http://host:port[/prefix]"
  std::string user;
};
Result<HubNamespace> parse_hub_namespace(const std::string& url);

}  // namespace tiffin::hub
