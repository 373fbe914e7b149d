// docker's --format for the CLI's list and inspect verbs, over api/go_template.
//
// List verbs (ps, images, volume ls, network ls) format rows with docker's fields, all strings
// as docker's formatter gives them (ps: ID Image Command CreatedAt RunningFor Ports State Status
// Size Names Labels Mounts Networks LocalVolumes, and {{.Label "k"}}); a --format of
//   ""/"table"     the verb's own table (the caller prints it),
//   "json"         each row as one JSON object on a line of its own, as docker's (its
//                  '{{json .}}': Go's json.Marshal, keys sorted, <, > and & escaped),
//   "table T"      a header row (T run on the verb's header names, docker's header functions
//                  returning their argument) and the rows, aligned as docker's tabwriter does,
//   anything else  T per row, a newline after each.
// As docker's, a literal \t and \n in the format become a tab and a newline, and surrounding
// spaces are dropped.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/go_template.hpp"
#include "common/error.hpp"
#include "engine/engine.hpp"

namespace tiffin::api {

// A row: the fields a template sees, and the labels {{.Label "k"}} looks up.
struct FormatRow {
  nlohmann::json fields = nlohmann::json::object();
  std::map<std::string, std::string> labels;
};

// The rows are what docker CLI 28 makes of the API's objects (api/docker_view), so that tiffin's
// list verbs print what the docker CLI prints through `tiffin serve`.
//
// docker ps's row of a /containers/json object; `trunc`: short ids and commands (not --no-trunc).
FormatRow ps_row(engine::Engine& e, const engine::ContainerInfo& c, bool trunc);
FormatRow ps_row(const nlohmann::json& list_object, bool trunc);
const nlohmann::json& ps_headers();
// docker images' rows of an /images/json object: one per repository and tag (<none> when
// untagged), with `digests` (--digests) one per digest of the repository.
std::vector<FormatRow> image_rows(const engine::ImageInfo& i, bool trunc, bool digests);
std::vector<FormatRow> image_rows(const nlohmann::json& list_object, bool trunc, bool digests);
const nlohmann::json& image_headers();
// docker volume ls's row; the CLI lists volumes by name in natural_less order.
FormatRow volume_row(const engine::VolumeInfo& v);
const nlohmann::json& volume_headers();
// docker network ls's row of a /networks object (api::network_list_json); by name, natural_less.
FormatRow network_row(const nlohmann::json& network, bool trunc);
const nlohmann::json& network_headers();
// docker's sortorder.NaturalLess: runs of digits compare as numbers ("v9" before "v10").
bool natural_less(std::string_view a, std::string_view b);

class ListFormat {
 public:
  enum class Kind { default_table, json, table, rows };
  static Result<ListFormat> parse(std::string_view format);
  Kind kind() const { return kind_; }
  // Runs the template on a row (for table and rows).
  Result<void> add(const FormatRow& row);
  // What to print: for a table the header row first, all aligned.
  std::string finish(const nlohmann::json& headers) const;

 private:
  Kind kind_ = Kind::default_table;
  GoTemplate tmpl_;
  std::string out_;
};

// inspect's --format: "" the objects as an indented JSON array, "json" as a compact one, else the
// template run on each object, a newline after each (docker inspect -f).
Result<std::string> format_inspect(std::string_view format, const std::vector<nlohmann::json>& objects);

// docker's human sizes (go-units HumanSizeWithPrecision(n, precision)): 999B, 1.23kB, 7.8MB;
// precision 4 is go-units' HumanSize.
std::string docker_size(uint64_t bytes, int precision = 3);
// Go's time.Time.String() of a unix time in the local zone: "2024-01-02 15:04:05 +0100 CET".
std::string go_time_text(int64_t unix_time);

}  // namespace tiffin::api
