// Fuzzes the Dockerfile parser (build/dockerfile): any bytes are parsed. Nothing may crash or
// throw; a refusal is invalid_input at a "Dockerfile:LINE:COLUMN: " inside the file; a parse
// has at least one stage and line numbers that are in the file and in order (an instruction
// starts after the previous one ended, its flags and ONBUILD trigger within its own lines).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "build/dockerfile.hpp"
#include "common/text.hpp"

using namespace tiffin;
using namespace tiffin::build;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_lines(const Instruction& ins, int after, int last_line) {
  check(ins.line > after && ins.line <= ins.end_line && ins.end_line <= last_line && ins.column >= 1);
  for (const Flag& f : ins.flags) check(f.line >= ins.line && f.line <= ins.end_line && f.column >= 1);
  if (ins.kind == Kind::onbuild) {
    check(ins.trigger != nullptr);
    check(ins.trigger->kind != Kind::onbuild && ins.trigger->kind != Kind::from && ins.trigger->kind != Kind::maintainer);
    check_lines(*ins.trigger, ins.line - 1, ins.end_line);
    check(ins.trigger->end_line == ins.end_line);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  auto df = parse_dockerfile(text);
  if (!df) {
    check(df.error().kind == Errc::invalid_input);
    std::string_view m = df.error().message;
    check(m.starts_with("Dockerfile:"));
    m.remove_prefix(11);
    auto colon = m.find(':');
    check(colon != std::string_view::npos);
    auto line = parse_uint<unsigned>(m.substr(0, colon));
    m.remove_prefix(colon + 1);
    colon = m.find(':');
    check(colon != std::string_view::npos);
    auto column = parse_uint<unsigned>(m.substr(0, colon));
    check(line && column && *line >= 1 && static_cast<int>(*line) <= lines && *column >= 1);
    return 0;
  }
  check(!df->stages.empty());
  check(df->directives.escape == '\\' || df->directives.escape == '`');
  int at = 0;
  for (const Instruction& a : df->meta_args) {
    check(a.kind == Kind::arg);
    check_lines(a, at, lines);
    at = a.end_line;
  }
  for (const Stage& s : df->stages) {
    check(s.from.kind == Kind::from && s.line == s.from.line && !s.base.empty());
    check_lines(s.from, at, lines);
    at = s.from.end_line;
    for (const Instruction& i : s.instructions) {
      check(i.kind != Kind::from);
      check_lines(i, at, lines);
      at = i.end_line;
    }
  }
  return 0;
}
