#include "hub/flist_ref.hpp"

namespace tiffin::hub {

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 128 || s[0] == '.' || s[0] == '-') return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

Result<FlistRef> parse_flist_name(const std::string& user, const std::string& text) {
  std::string s = text;
  if (s.size() > 3 && s.ends_with(".fl")) s.resize(s.size() - 3);
  FlistRef ref{user, s};
  if (auto colon = s.find(':'); colon != std::string::npos) {
    ref.name = s.substr(0, colon);
    ref.tag = s.substr(colon + 1);
  }
  if (!valid_name(user)) return fail(Errc::invalid_input, "invalid user name '" + user + "'");
  if (!valid_name(ref.name)) return fail(Errc::invalid_input, "invalid flist name '" + ref.name + "'");
  if (!valid_name(ref.tag)) return fail(Errc::invalid_input, "invalid tag '" + ref.tag + "'");
  return ref;
}

Result<FlistRef> parse_flist_ref(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || s.find('/', slash + 1) != std::string::npos)
    return fail(Errc::invalid_input, "'" + s + "' is not <user>/<name>[:<tag>]");
  return parse_flist_name(s.substr(0, slash), s.substr(slash + 1));
}

Result<HubLocation> parse_hub_location(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos || (url.substr(0, scheme) != "http" && url.substr(0, scheme) != "https"))
    return fail(Errc::invalid_input, "'" + url + "' is not an http(s):// hub location");
  size_t name_slash = url.rfind('/');
  size_t user_slash = name_slash == std::string::npos || name_slash == 0 ? std::string::npos : url.rfind('/', name_slash - 1);
  if (user_slash == std::string::npos || user_slash < scheme + 3)
    return fail(Errc::invalid_input, "'" + url + "' names no flist: expected " + url + "/<user>/<name>[:<tag>]");
  HubLocation loc;
  loc.base = url.substr(0, user_slash);
  if (loc.base.size() <= scheme + 3) return fail(Errc::invalid_input, "'" + url + "' has no host");
  loc.ref = TRY_CTX(parse_flist_ref(url.substr(user_slash + 1)), url);
  return loc;
}

Result<HubNamespace> parse_hub_namespace(const std::string& text) {
  std::string url = text;
  while (url.ends_with("/")) url.pop_back();
  size_t scheme = url.find("://");
  if (scheme == std::string::npos || (url.substr(0, scheme) != "http" && url.substr(0, scheme) != "https"))
    return fail(Errc::invalid_input, "'" + text + "' is not an http(s):// hub URL");
  size_t slash = url.rfind('/');
  if (slash == std::string::npos || slash < scheme + 3)
    return fail(Errc::invalid_input, "'" + text + "' names no user: expected http(s)://hub[:port]/<user>");
  HubNamespace ns{url.substr(0, slash), url.substr(slash + 1)};
  if (ns.base.size() <= scheme + 3) return fail(Errc::invalid_input, "'" + text + "' has no host");
  if (!valid_name(ns.user)) return fail(Errc::invalid_input, "invalid user name '" + ns.user + "' in " + text);
  return ns;
}

}  // namespace tiffin::hub
