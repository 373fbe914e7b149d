#include "api/docker_format.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>
#include <set>

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

std::string short_image_id(const std::string& id, bool trunc) { return trunc ? engine::short_id(id) : "sha256:" + id; }

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

std::string docker_size(uint64_t bytes) {
  static const char* const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  double size = static_cast<double>(bytes);
  size_t i = 0;
  while (size >= 1000.0 && i < std::size(units) - 1) {
    size /= 1000.0;
    ++i;
  }
  return fmt::format("{:.3g}{}", size, units[i]);
}

std::string go_time_text(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::localtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  return buf;
}

FormatRow ps_row(engine::Engine& e, const engine::ContainerInfo& c, bool trunc) {
  json l = list_json(e, c);
  FormatRow row;
  for (const auto& [k, v] : l["Labels"].items())
    if (v.is_string()) row.labels[k] = v.get<std::string>();
  std::string command = l["Command"].get<std::string>();
  std::set<std::string> ports;
  for (const auto& p : e.container_ports(c.id).value_or(std::vector<net::PublishedPort>{})) ports.insert(net::describe(p));
  std::string port_text;
  for (const auto& p : ports) port_text += (port_text.empty() ? "" : ", ") + p;
  std::string mounts;
  int local_volumes = 0;
  for (const auto& m : l["Mounts"]) {
    std::string name = m.contains("Name") ? m["Name"].get<std::string>() : m["Source"].get<std::string>();
    if (m.value("Type", "") == "volume") ++local_volumes;
    if (trunc) name = ellipsis(name, 15);
    mounts += (mounts.empty() ? "" : ",") + name;
  }
  std::string networks;
  for (const auto& [name, _] : l["NetworkSettings"]["Networks"].items()) networks += (networks.empty() ? "" : ",") + name;
  row.fields = {{"ID", trunc ? engine::short_id(c.id) : c.id}, {"Image", c.image},
      {"Command", go_quote(trunc ? ellipsis(command, 20) : command)}, {"CreatedAt", go_time_text(c.created)},
      {"RunningFor", time_ago(c.created)}, {"Ports", port_text}, {"State", shim::status_name(c.state.status)}, {"Status", status_text(c)},
      {"Size", "0B"}, {"Names", c.name}, {"Labels", joined_labels(row.labels)}, {"Mounts", mounts}, {"Networks", networks},
      {"LocalVolumes", std::to_string(local_volumes)}};
  return row;
}

const json& ps_headers() {
  static const json h = {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Command", "COMMAND"}, {"CreatedAt", "CREATED AT"},
      {"RunningFor", "CREATED"}, {"Ports", "PORTS"}, {"State", "STATE"}, {"Status", "STATUS"}, {"Size", "SIZE"}, {"Names", "NAMES"},
      {"Labels", "LABELS"}, {"Mounts", "MOUNTS"}, {"Networks", "NETWORKS"}, {"LocalVolumes", "LOCAL VOLUMES"}};
  return h;
}

std::vector<FormatRow> image_rows(const engine::ImageInfo& i, bool trunc) {
  std::vector<FormatRow> rows;
  std::vector<std::string> tags = i.tags.empty() ? std::vector<std::string>{"<none>:<none>"} : i.tags;
  std::string digest = engine::image_digest(i);
  for (const auto& t : tags) {
    size_t colon = t.rfind(':');
    if (colon != std::string::npos && t.find('/', colon) != std::string::npos) colon = std::string::npos;
    FormatRow row;
    row.fields = {{"ID", short_image_id(i.id, trunc)}, {"Repository", t.substr(0, colon)},
        {"Tag", colon == std::string::npos ? "<none>" : t.substr(colon + 1)}, {"Digest", digest.empty() ? "<none>" : digest},
        {"CreatedSince", time_ago(i.created)}, {"CreatedAt", go_time_text(i.created)}, {"Size", docker_size(i.size)},
        {"VirtualSize", docker_size(i.size)}, {"SharedSize", "N/A"}, {"UniqueSize", "N/A"}, {"Containers", "N/A"}};
    rows.push_back(std::move(row));
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

FormatRow network_row(const engine::Network& n, bool trunc) {
  FormatRow row;
  row.labels = n.labels;
  row.fields = {{"ID", trunc ? n.id.substr(0, 12) : n.id}, {"Name", n.name}, {"Driver", n.driver}, {"Scope", "local"}, {"IPv4", "true"},
      {"IPv6", n.subnet6 ? "true" : "false"}, {"Internal", n.internal ? "true" : "false"}, {"Labels", joined_labels(n.labels)},
      {"CreatedAt", go_time_text(n.created)}};
  return row;
}

const json& network_headers() {
  static const json h = {{"ID", "NETWORK ID"}, {"Name", "NAME"}, {"Driver", "DRIVER"}, {"Scope", "SCOPE"}, {"IPv4", "IPV4"},
      {"IPv6", "IPV6"}, {"Internal", "INTERNAL"}, {"Labels", "LABELS"}, {"CreatedAt", "CREATED AT"}};
  return h;
}

Result<ListFormat> ListFormat::parse(std::string_view format) {
  ListFormat f;
  std::string text = docker_format_text(format);
  if (text.empty() || text == "table") return f;
  if (text == "json") {
    f.kind_ = Kind::json;
    return f;
  }
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
  TemplateMethods methods = label_method(&row.labels);
  ExecOptions opts;
  opts.methods = &methods;
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
