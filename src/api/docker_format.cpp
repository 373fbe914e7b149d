#include "api/docker_format.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <tuple>

#include "api/docker_view.hpp"
#include "net/port_spec.hpp"

namespace tiffin::api {

using json = nlohmann::json;

namespace {

std::string joined_labels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

// docker's Ellipsis: at most `n` characters, the last of them "…".
std::string ellipsis(const std::string& s, size_t n) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  if (starts.size() <= n) return s;
  if (n == 0) return "";
  return s.substr(0, starts[n - 1]) + "…";
}

// The template's `Label` method over a row's labels; in the header, the label's name in capitals
// (the last dot-separated part, '-' and '_' as spaces), as docker's header once was.
TemplateMethods label_method(const std::map<std::string, std::string>* labels) {
  return {{"Label", [labels](const std::vector<json>& args) -> Result<json> {
             if (args.size() != 1 || !args[0].is_string()) return fail(Errc::invalid_input, "Label takes one string");
             const std::string& key = args[0].get_ref<const std::string&>();
             if (!labels) {
               std::string h = key.substr(key.rfind('.') == std::string::npos ? 0 : key.rfind('.') + 1);
               for (auto& c : h) c = c == '-' || c == '_' ? ' ' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
               return json(h);
             }
             auto it = labels->find(key);
             return json(it == labels->end() ? "" : it->second);
           }}};
}

// docker's format text: "table" and spaces off, \t and \n as characters.
std::string docker_format_text(std::string_view f) {
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\\' && i + 1 < f.size() && (f[i + 1] == 't' || f[i + 1] == 'n')) {
      out += f[++i] == 't' ? '\t' : '\n';
      continue;
    }
    out += f[i];
  }
  size_t a = out.find_first_not_of(' '), b = out.find_last_not_of(' ');
  return a == std::string::npos ? "" : out.substr(a, b - a + 1);
}

}  // namespace

std::string docker_size(uint64_t bytes, int precision) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  double size = static_cast<double>(bytes);
  size_t i = 0;
  while (size >= 1000.0 && i < std::size(units) - 1) {
    size /= 1000.0;
    ++i;
  }
  return fmt::format("{:.{}g}{}", size, precision, units[i]);
}

std::string go_time_text(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  return buf;
}

namespace {

// docker's stringid.TruncateID: what follows the algorithm, its first 12 characters.
std::string truncate_id(const std::string& id) {
  size_t colon = id.find(':');
  return (colon == std::string::npos ? id : id.substr(colon + 1)).substr(0, 12);
}

// reference.FamiliarName: docker.io/library/x is x, docker.io/u/x u/x.
std::string familiar_name(std::string name) {
  for (std::string_view domain : {"docker.io/", "index.docker.io/"})
    if (name.starts_with(domain)) {
      name.erase(0, domain.size());
      if (name.starts_with("library/") && name.find('/', 8) == std::string::npos) name.erase(0, 8);
      break;
    }
  return name;
}

// A reference's name and tag ("" when it has none); a digest after '@' is dropped.
std::pair<std::string, std::string> split_reference(std::string ref) {
  if (size_t at = ref.find('@'); at != std::string::npos) ref.resize(at);
  size_t colon = ref.rfind(':');
  if (colon == std::string::npos || ref.find('/', colon) != std::string::npos) return {familiar_name(ref), ""};
  return {familiar_name(ref.substr(0, colon)), ref.substr(colon + 1)};
}

// docker's DisplayablePorts: ports published on their own number and exposed ones grouped into
// ranges per address and protocol, then the others ("0.0.0.0:8080->80/tcp"), sorted by the
// container's port.
std::string displayable_ports(const json& ports) {
  struct Port {
    std::string ip, type;
    int priv = 0, pub = 0;
  };
  std::vector<Port> list;
  for (const auto& p : ports) list.push_back({p.value("IP", ""), p.value("Type", ""), p.value("PrivatePort", 0), p.value("PublicPort", 0)});
  std::sort(list.begin(), list.end(),
      [](const Port& a, const Port& b) { return std::tie(a.priv, a.ip, a.pub, a.type) < std::tie(b.priv, b.ip, b.pub, b.type); });
  auto group_text = [](const std::string& key, int first, int last) {
    size_t slash = key.find('/');
    std::string ip = slash == std::string::npos ? "" : key.substr(0, slash);
    std::string type = slash == std::string::npos ? key : key.substr(slash + 1);
    std::string g = std::to_string(first) + (first != last ? "-" + std::to_string(last) : "");
    if (!ip.empty()) g = ip + ":" + g + "->" + g;
    return g + "/" + type;
  };
  std::map<std::string, std::pair<int, int>> groups;
  std::vector<std::string> order, result, mappings;
  for (const auto& p : list) {
    std::string key = p.type;
    if (!p.ip.empty()) {
      if (p.pub != p.priv) {
        std::string host = p.ip.find(':') != std::string::npos ? "[" + p.ip + "]" : p.ip;
        mappings.push_back(fmt::format("{}:{}->{}/{}", host, p.pub, p.priv, p.type));
        continue;
      }
      key = p.ip + "/" + p.type;
    }
    auto it = groups.find(key);
    if (it == groups.end()) {
      groups[key] = {p.priv, p.priv};
      order.push_back(key);
      continue;
    }
    if (p.priv == it->second.second + 1) {
      it->second.second = p.priv;
      continue;
    }
    result.push_back(group_text(key, it->second.first, it->second.second));
    it->second = {p.priv, p.priv};
  }
  for (const auto& key : order) result.push_back(group_text(key, groups[key].first, groups[key].second));
  result.insert(result.end(), mappings.begin(), mappings.end());
  std::string out;
  for (const auto& r : result) out += (out.empty() ? "" : ", ") + r;
  return out;
}

// Go's time.Time.String() of an RFC 3339 time in UTC ("…Z"), as the CLI parses the API's;
// missing, Go's zero time.
std::string go_utc_time_text(const std::string& t) {
  if (t.size() < 20 || t.back() != 'Z') return "0001-01-01 00:00:00 +0000 UTC";
  std::string s = t.substr(0, t.size() - 1);
  s[10] = ' ';
  if (size_t dot = s.find('.'); dot != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s + " +0000 UTC";
}

std::map<std::string, std::string> string_labels(const json& labels) {
  std::map<std::string, std::string> out;
  if (labels.is_object())
    for (const auto& [k, v] : labels.items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

}  // namespace

bool natural_less(std::string_view a, std::string_view b) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = digit(a[i]), db = digit(b[j]);
    if (da != db) return da;
    if (!da) {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i, ++j;
      continue;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    size_t ni = i, nj = j;
    while (i < a.size() && digit(a[i])) ++i;
    while (j < b.size() && digit(b[j])) ++j;
    if (i - ni != j - nj) return i - ni < j - nj;
    if (auto x = a.substr(ni, i - ni), y = b.substr(nj, j - nj); x != y) return x < y;
    if (ni != nj) return ni < nj;
  }
  return a.size() < b.size();
}

FormatRow ps_row(engine::Engine& e, const engine::ContainerInfo& c, bool trunc) { return ps_row(list_json(e, c), trunc); }

FormatRow ps_row(const json& l, bool trunc) {
  FormatRow row;
  row.labels = string_labels(l["Labels"]);
  std::string command = l.value("Command", "");
  std::string mounts;
  int local_volumes = 0;
  for (const auto& m : l["Mounts"]) {
    std::string name = m.value("Name", "");
    if (name.empty()) name = m.value("Source", "");
    if (m.value("Driver", "") == "local") ++local_volumes;
    if (trunc) name = ellipsis(name, 15);
    mounts += (mounts.empty() ? "" : ",") + name;
  }
  std::string networks;
  for (const auto& [name, _] : l["NetworkSettings"]["Networks"].items()) networks += (networks.empty() ? "" : ",") + name;
  // docker's Image: with trunc, an image given by id as the short id, a reference without its digest.
  std::string image = l.value("Image", ""), image_id = l.value("ImageID", "");
  if (image.empty()) {
    image = "<no image>";
  } else if (trunc && truncate_id(image_id) == truncate_id(image)) {
    image = truncate_id(image);
  } else if (trunc && image.find('@') != std::string::npos) {
    auto [name, tag] = split_reference(image);
    image = tag.empty() ? name : name + ":" + tag;
  }
  std::string id = l.value("Id", "");
  int64_t created = l.value("Created", int64_t{0});
  std::string name;
  if (!l["Names"].empty()) name = l["Names"][0].get<std::string>();
  if (name.starts_with("/")) name.erase(0, 1);
  row.fields = {{"ID", trunc ? truncate_id(id) : id}, {"Image", image}, {"Command", go_quote(trunc ? ellipsis(command, 20) : command)},
      {"CreatedAt", go_time_text(created)}, {"RunningFor", time_ago(created)}, {"Ports", displayable_ports(l["Ports"])},
      {"State", l.value("State", "")}, {"Status", l.value("Status", "")}, {"Size", "0B"}, {"Names", name},
      {"Labels", joined_labels(row.labels)}, {"Mounts", mounts}, {"Networks", networks}, {"LocalVolumes", std::to_string(local_volumes)},
      {"Platform", nullptr}};
  return row;
}

const json& ps_headers() {
  static const json h = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Command", "COMMAND"}, {"CreatedAt", "CREATED AT"},
      {"RunningFor", "CREATED"}, {"Ports", "PORTS"}, {"State", "STATE"}, {"Status", "STATUS"}, {"Size", "SIZE"}, {"Names", "NAMES"},
      {"Labels", "LABELS"}, {"Mounts", "MOUNTS"}, {"Networks", "NETWORKS"}, {"LocalVolumes", "LOCAL VOLUMES"}, {"Platform", "PLATFORM"}};
  return h;
}

std::vector<FormatRow> image_rows(const engine::ImageInfo& i, bool trunc, bool digests) {
  return image_rows(image_list_json(i), trunc, digests);
}

std::vector<FormatRow> image_rows(const json& img, bool trunc, bool show_digests) {
  std::string id = img.value("Id", "");
  int64_t created = img.value("Created", int64_t{0}), size = img.value("Size", int64_t{0});
  int64_t virtual_size = img.value("VirtualSize", size), shared = img.value("SharedSize", int64_t{-1});
  int64_t containers = img.value("Containers", int64_t{-1});
  auto make = [&](const std::string& repo, const std::string& tag, const std::string& digest) {
    FormatRow row;
    row.fields = {{"ID", trunc ? truncate_id(id) : id}, {"Repository", repo}, {"Tag", tag}, {"Digest", digest},
        {"CreatedSince", time_ago(created)}, {"CreatedAt", go_time_text(created)}, {"Size", docker_size(static_cast<uint64_t>(size))},
        {"VirtualSize", docker_size(static_cast<uint64_t>(virtual_size), 4)},
        {"SharedSize", shared == -1 ? "N/A" : docker_size(static_cast<uint64_t>(shared), 4)},
        {"UniqueSize", shared == -1 ? "N/A" : docker_size(static_cast<uint64_t>(size - shared), 4)},
        {"Containers", containers == -1 ? "N/A" : std::to_string(containers)}};
    return row;
  };
  // docker's: the tags by repository, each with that repository's digests (with --digests), then
  // the repositories that have a digest but no tag.
  std::vector<std::pair<std::string, std::vector<std::string>>> repo_tags, repo_digests;
  auto add = [](auto& list, const std::string& repo, const std::string& v) {
    auto it = std::find_if(list.begin(), list.end(), [&](const auto& p) { return p.first == repo; });
    if (it == list.end()) list.push_back({repo, {v}});
    else it->second.push_back(v);
  };
  // References docker cannot parse are left out (an image with only those has no row, as docker's).
  json tags = img.value("RepoTags", json::array()), digests = img.value("RepoDigests", json::array());
  for (const auto& t : tags) {
    auto [repo, tag] = split_reference(t.get<std::string>());
    if (reference_name_valid(repo)) add(repo_tags, repo, tag.empty() ? "<none>" : tag);
  }
  for (const auto& d : digests) {
    std::string ref = d.get<std::string>();
    size_t at = ref.find('@');
    if (at != std::string::npos && reference_name_valid(ref.substr(0, at)))
      add(repo_digests, familiar_name(ref.substr(0, at)), ref.substr(at + 1));
  }
  std::vector<FormatRow> rows;
  bool dangling =
      (tags.empty() && digests.empty()) || (tags == json::array({"<none>:<none>"}) && digests == json::array({"<none>@<none>"}));
  if (dangling) {
    rows.push_back(make("<none>", "<none>", "<none>"));
    return rows;
  }
  for (const auto& [repo, tags] : repo_tags) {
    std::vector<std::string> digests;
    auto it = std::find_if(repo_digests.begin(), repo_digests.end(), [&](const auto& p) { return p.first == repo; });
    if (it != repo_digests.end()) {
      digests = it->second;
      repo_digests.erase(it);
    }
    if (!show_digests) digests.clear();
    for (const auto& tag : tags) {
      if (digests.empty()) rows.push_back(make(repo, tag, "<none>"));
      for (const auto& d : digests) rows.push_back(make(repo, tag, d));
    }
  }
  for (const auto& [repo, digests] : repo_digests) {
    if (!show_digests) rows.push_back(make(repo, "<none>", ""));
    else
      for (const auto& d : digests) rows.push_back(make(repo, "<none>", d));
  }
  return rows;
}

const json& image_headers() {
  static const json h = {{"ID", "IMAGE ID"}, {"Repository", "REPOSITORY"}, {"Tag", "TAG"}, {"Digest", "DIGEST"},
      {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"}, {"Size", "SIZE"}, {"VirtualSize", "VIRTUAL SIZE"},
      {"SharedSize", "SHARED SIZE"}, {"UniqueSize", "UNIQUE SIZE"}, {"Containers", "CONTAINERS"}};
  return h;
}

FormatRow volume_row(const engine::VolumeInfo& v) {
  FormatRow row;
  row.fields = {{"Name", v.name}, {"Driver", "local"}, {"Scope", "local"}, {"Mountpoint", v.mountpoint}, {"Labels", ""}, {"Links", "N/A"},
      {"Size", "N/A"}, {"Availability", "N/A"}, {"Group", "N/A"}, {"Status", "N/A"}};
  return row;
}

const json& volume_headers() {
  static const json h = {{"Name", "VOLUME NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"}, {"Mountpoint", "MOUNTPOINT"},
      {"Labels", "LABELS"}, {"Links", "LINKS"}, {"Size", "SIZE"}, {"Availability", "AVAILABILITY"}, {"Group", "GROUP"},
      {"Status", "STATUS"}};
  return h;
}

FormatRow network_row(const json& n, bool trunc) {
  FormatRow row;
  row.labels = string_labels(n.value("Labels", json::object()));
  std::string id = n.value("Id", "");
  auto flag = [&](const char* k) { return n.value(k, false) ? "true" : "false"; };
  row.fields = {{"ID", trunc ? truncate_id(id) : id}, {"Name", n.value("Name", "")}, {"Driver", n.value("Driver", "")},
      {"Scope", n.value("Scope", "")}, {"IPv4", flag("EnableIPv4")}, {"IPv6", flag("EnableIPv6")}, {"Internal", flag("Internal")},
      {"Labels", joined_labels(row.labels)}, {"CreatedAt", go_utc_time_text(n.value("Created", ""))}};
  return row;
}

const json& network_headers() {
  static const json h = {{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"}, {"IPv4", "IPV4"},
      {"IPv6", "IPV6"}, {"Internal", "INTERNAL"}, {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"}};
  return h;
}

Result<ListFormat> ListFormat::parse(std::string_view format) {
  ListFormat f;
  // As docker's: only "json" itself (" json" is a template printing json).
  if (format == "json") {
    f.kind_ = Kind::json;
    return f;
  }
  std::string text = docker_format_text(format);
  if (text.empty() || text == "table") return f;
  if (text.starts_with("table")) {
    f.kind_ = Kind::table;
    text = docker_format_text(text.substr(5));
  } else {
    f.kind_ = Kind::rows;
  }
  f.tmpl_ = TRY(GoTemplate::parse(text));
  return f;
}

Result<void> ListFormat::add(const FormatRow& row) {
  if (kind_ == Kind::json) {
    out_ += go_json(row.fields, true) + '\n';
    return {};
  }
  TemplateMethods methods = label_method(&row.labels);
  ExecOptions opts;
  opts.methods = &methods;
  opts.root_marshals_escaped = true;
  TRY(tmpl_.execute(row.fields, out_, opts));
  out_ += '\n';
  return {};
}

std::string ListFormat::finish(const json& headers) const {
  if (kind_ != Kind::table) return out_;
  TemplateMethods methods = label_method(nullptr);
  ExecOptions opts;
  opts.header = true;
  opts.methods = &methods;
  std::string text;
  (void)tmpl_.execute(headers, text, opts);  // as docker: a header that fails stops where it failed
  text += '\n';
  return tabwrite(text + out_);
}

Result<std::string> format_inspect(std::string_view format, const std::vector<json>& objects) {
  json arr = json(objects);
  if (format.empty()) return arr.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  if (format == "json") return arr.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  GoTemplate t = TRY(GoTemplate::parse(format));
  std::string out;
  for (const auto& o : objects) {
    TRY(t.execute(o, out));
    out += '\n';
  }
  return out;
}

}  // namespace tiffin::api
