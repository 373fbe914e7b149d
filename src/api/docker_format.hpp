// docker's --format for the CLI's list and inspect verbs, over api/go_template.
//
// List verbs (ps, images, volume ls, network ls) format rows with docker's fields, all strings
// as docker's formatter gives them (ps: ID Image Command CreatedAt RunningFor Ports State Status
// Size Names Labels Mounts Networks LocalVolumes, and {{.Label "k"}}); a --format of
//   ""/"table"     the verb's own table (the caller prints it),
//   "json"         tiffin's JSON array of the API's objects (kept: scripts and tests read it;
//                  docker's one-object-per-line form is --format '{{json .}}'),
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

// docker ps's row; `trunc`: short ids and commands (not --no-trunc).
FormatRow ps_row(engine::Engine& e, const engine::ContainerInfo& c, bool trunc);
const nlohmann::json& ps_headers();
// docker images' rows: one per tag (<none> when untagged).
std::vector<FormatRow> image_rows(const engine::ImageInfo& i, bool trunc);
const nlohmann::json& image_headers();
FormatRow volume_row(const engine::VolumeInfo& v);
const nlohmann::json& volume_headers();
FormatRow network_row(const engine::Network& n, bool trunc);
const nlohmann::json& network_headers();

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

// docker's human sizes (go-units HumanSizeWithPrecision(n, 3)): 999B, 1.23kB, 7.8MB.
std::string docker_size(uint64_t bytes);
// Go's time.Time.String() of a unix time in the local zone: "2024-01-02 15:04:05 +0100 CET".
std::string go_time_text(int64_t unix_time);

}  // namespace tiffin::api
