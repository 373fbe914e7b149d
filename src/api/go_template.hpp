// A subset of Go's text/template over JSON, for docker's `--format` (`tiffin inspect -f
// '{{.State.Pid}}'`, `tiffin ps --format 'table {{.Names}}\t{{.Status}}'`), and Go's
// text/tabwriter for docker's `table` output. Parse once, execute per object or row.
//
// The supported subset, exactly:
//   Text and actions {{ … }}; trim markers "{{- " and " -}}" (a dash next to the braces and a
//   space on its other side) remove the whitespace before/after; comments {{/* … */}}.
//   Operands: "strings" with Go's escapes (\t \n \r \a \b \f \v \\ \" \xHH \ooo \uHHHH
//   \UHHHHHHHH), `raw strings`, 'c' characters (their code point), integers (decimal, 0x, 0o,
//   0b, leading-0 octal, _ separators), floats (1.5, 1e3), true, false, nil; `.`; field chains
//   .A.B.C; variables $ (the data), $x and $x.A.B; (parenthesized pipelines) and their fields
//   (.A).B.
//   Pipelines: command | command …, the value of each becoming the last argument of the next;
//   {{$x := PIPE}} declares, {{$x = PIPE}} assigns (a declaration prints nothing).
//   Control: {{if P}}…{{else if P}}…{{else}}…{{end}}; {{with P}}…{{else with P}}…{{else}}…{{end}}
//   (dot is P's value); {{range P}}…{{else}}…{{end}} over arrays, objects (in sorted key order,
//   as Go ranges maps) and integers n (0…n-1), with {{range $e := P}}, {{range $i, $e := P}}
//   ({{range $k, $v := OBJ}}), {{break}} and {{continue}}. Variables live until the {{end}} of
//   the control structure they were declared in.
//   Functions: Go's and, or (short-circuit, returning the deciding value), not, eq (with many
//   arguments: equal to any), ne, lt, le, gt, ge, len, index (arrays by integer, objects by key,
//   strings by byte), slice, print, println, printf; docker's json, join, split, lower, upper,
//   title, truncate, pad.
//   printf's verbs: %v %s %q %d %x %X %o %b %c %t %f %F %e %E %g %G %%, the flags - + 0 space
//   #, a width and a .precision (digits or *); mistakes print as Go does (%!d(string=x),
//   %!s(MISSING), %!(EXTRA …), %!(BADWIDTH)).
//
// Values are JSON. Truth as Go's: false, 0, null, "", [] and {} are false, a missing value too.
// Printing as Go's %v: strings raw, integers in decimal, floats as Go's %v (1.5, 1e+06), true
// and false, null as <nil>, arrays as [a b c], objects as map[k:v k2:v2] (keys sorted); a missing
// value ({{.NoSuchKey}}) prints <no value>.
//
// Where JSON cannot say what Go's types would: a field that is not a key of its object is
// missing (<no value>; ExecOptions::missing_key_error makes it an error, as docker inspect's
// fallback does); index of a missing key gives the zero value of the object's element type as
// far as the other values show it ("" among strings and in an empty object, 0 among numbers,
// false among bools, else null); numbers compare by value whether integer or float, and %f/%d
// accept an integer/an integral float. A field of null is Go's "nil pointer evaluating"
// error, of a string/number/array "can't evaluate field X in type T".
//
// Not supported (a parse error says so): define, template, block, the functions html, js,
// urlquery and call, methods of values other than ExecOptions::methods. lower/upper/title change
// ASCII letters only.
//
// Errors are values with Go's shape: "template: :LINE:COL: executing \"\" at <NODE>: WHAT" for
// execution, "template: :LINE:COL: WHAT" for parsing (COL counts bytes from 0, as Go's). No input
// crashes: nesting is capped at 100 levels, and an execution is capped in steps and in bytes
// produced (ExecOptions) so a hostile template ends in an error instead of eating the machine.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::api {

// A method of the top-level value, docker's `{{.Label "com.x"}}` of ps rows: called when a field
// of the data (not of anything under it) has this name and the data has no such key.
using TemplateMethod = std::function<Result<nlohmann::json>(const std::vector<nlohmann::json>& args)>;
using TemplateMethods = std::map<std::string, TemplateMethod, std::less<>>;

struct ExecOptions {
  // docker's header functions: json, split, join, title, lower, upper, pad and truncate return
  // their first argument unchanged (the header row of `table` runs the template on header names).
  bool header = false;
  bool missing_key_error = false;  // Go's missingkey=error: a field not in its object is an error
  const TemplateMethods* methods = nullptr;
  // `json` of the data itself escapes as Go's json.Marshal does (<, > and & as \u003c…): docker's
  // list rows are json.Marshalers that call it, where other values go through an encoder with
  // SetEscapeHTML(false).
  bool root_marshals_escaped = false;
  uint64_t max_steps = 10'000'000;   // nodes, commands and iterations executed
  uint64_t max_bytes = 64ull << 20;  // bytes written plus bytes made by functions
};

class GoTemplate {
 public:
  static Result<GoTemplate> parse(std::string_view text);
  // Appends to `out`; on an error `out` keeps what was written before it (as Go's writer does).
  Result<void> execute(const nlohmann::json& data, std::string& out, const ExecOptions& opts = {}) const;
  Result<std::string> render(const nlohmann::json& data, const ExecOptions& opts = {}) const;

  struct Impl;

 private:
  std::shared_ptr<const Impl> impl_;
};

// Go's fmt %v of a JSON value (see above); go_sprint is fmt.Sprint of several (a space between
// two operands when neither is a string), go_sprintf fmt.Sprintf.
std::string go_print(const nlohmann::json& v);
std::string go_sprint(const std::vector<nlohmann::json>& args);
std::string go_sprintf(std::string_view format, const std::vector<nlohmann::json>& args);
// Go's encoding/json of a JSON value, compact: keys sorted, invalid UTF-8 as U+FFFD, U+2028 and
// U+2029 escaped; with `escape_html` (json.Marshal) also <, > and & as \u003c, \u003e, \u0026.
std::string go_json(const nlohmann::json& v, bool escape_html);
// strconv.Quote: "…" with Go's escapes; printable UTF-8 is kept, invalid bytes are \xNN.
std::string go_quote(std::string_view s);

// Go's text/tabwriter with padchar ' ' and no flags: cells end at '\t'; each column of a block of
// consecutive lines that have that cell is as wide as its widest cell plus `padding`, at least
// `minwidth` (widths count UTF-8 characters); the last cell of a line is not in a column. docker
// uses minwidth 10, padding 3.
std::string tabwrite(std::string_view text, size_t minwidth = 10, size_t padding = 3);

}  // namespace tiffin::api
