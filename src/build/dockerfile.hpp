// The Dockerfile parser for `tiffin build`: Dockerfile text into stages of validated
// instructions, following docker's Dockerfile reference and buildkit's parser (its
// frontend/dockerfile/parser and instructions packages) where the reference is silent.
//
// What is done here is everything syntactic: parser directives, the escape character, line
// continuations, comments, heredocs, instruction names, flags, the JSON (exec) form, word
// splitting, argument counts and stage names. What is NOT done here is variable expansion: an
// argument keeps its quotes and escapes exactly as written (`ENV A="x y"` has the value `"x y"`,
// quotes included), as buildkit keeps them for its later ProcessWord step; the shell lexer
// (build/shell_lexer.hpp) expands them with the build's ARG and ENV values.
//
// Every error is Errc::invalid_input with a message "Dockerfile:LINE:COLUMN: what", both
// 1-based; the column counts characters (UTF-8 code points, a tab is one) on the physical line
// and points at the offending word where there is one (a flag, a stage name, a heredoc marker, a
// superfluous argument, the escape that continues into the end of the file), else at the
// instruction's keyword.
//
// Where this parser is stricter than buildkit (all things a build would fail on later, or that
// make no sense): an unknown instruction fails here, not when the stage is built; a Dockerfile
// ending in a line continuation is an error (buildkit silently ends the instruction); RUN, CMD
// and ENTRYPOINT need a command (CMD [] and ENTRYPOINT [] stay valid: they clear it); STOPSIGNAL
// takes exactly one word; ONBUILD's trigger is parsed and validated now, not in the image that
// inherits it; HEALTHCHECK NONE refuses options; ARG refuses an empty name. Whitespace is ASCII
// whitespace (Go's unicode.IsSpace also counts U+0085 and U+00A0).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::build {

enum class Kind : uint8_t {
  from,
  run,
  cmd,
  entrypoint,
  shell,
  copy,
  add,
  env,
  arg,
  label,
  workdir,
  user,
  expose,
  volume,
  stopsignal,
  healthcheck,
  onbuild,
  maintainer,
};
// The canonical (upper-case) keyword: "FROM", "RUN", ...
const char* kind_keyword(Kind k);

// A `--name=value` or boolean `--name` option before an instruction's arguments. Quotes and
// backslash escapes in the value are already removed (buildkit does that when it splits flags
// off, always with `\`, whatever the escape directive says); variables are not expanded.
struct Flag {
  std::string name;   // without the dashes: "from", "mount"
  std::string value;  // a boolean flag's is "true" or "false" (`--link` alone is "true")
  int line = 0, column = 0;
  bool operator==(const Flag&) const = default;
};

// A here-document of RUN, COPY or ADD (`<<EOF` ... `EOF`).
struct Heredoc {
  std::string name;         // the delimiter with its quotes removed: `<<"EOF"` is EOF
  std::string content;      // the lines between marker and delimiter, each with its line ending as written (CRLF stays)
  bool expand = true;       // false when the delimiter was quoted in any part: the content is taken literally, never expanded
  bool strip_tabs = false;  // `<<-`: leading tabs are already removed from every line of content (and the delimiter's)
  unsigned fd = 0;          // `3<<EOF`: the file descriptor the shell gives it (0: stdin)
  bool operator==(const Heredoc&) const = default;
};

// One ENV or LABEL pair, or one ARG. Key and value are raw (quotes and escapes kept).
struct KeyValue {
  std::string key;
  std::string value;
  bool has_value = false;  // ARG name without `=`: no default. ENV and LABEL always have one.
  bool operator==(const KeyValue&) const = default;
};

// HEALTHCHECK's parsed form, as docker's image config keeps it.
struct Healthcheck {
  // {"NONE"}, {"CMD", exec args...} for the JSON form, or {"CMD-SHELL", command line}.
  std::vector<std::string> test;
  // Zero: not given (the engine's default). Go durations ("30s", "1m30s", "1.5h").
  std::chrono::nanoseconds interval{0}, timeout{0}, start_period{0}, start_interval{0};
  int retries = 0;  // 0: not given
  bool operator==(const Healthcheck&) const = default;
};

struct Instruction {
  Kind kind = Kind::from;
  std::string keyword;       // as written: "run", "Copy"
  int line = 0, column = 0;  // where the keyword is
  int end_line = 0;          // the instruction's last line: of its continuations, or of its last heredoc's delimiter
  // The instruction's text with continuations joined (escape and line break removed, comment
  // lines dropped), the first line's indentation and the heredoc bodies left out: what docker
  // shows in progress output and uses in cache keys. An ONBUILD trigger's starts at its keyword.
  std::string original;
  std::vector<Flag> flags;
  // The arguments after the flags, by instruction:
  //   exec form (RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD, VOLUME, HEALTHCHECK CMD): the JSON
  //     array's strings, JSON escapes decoded.
  //   RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD shell form: one element, the command line as written.
  //   WORKDIR, USER, MAINTAINER: one element, everything after the keyword (spaces kept).
  //   ENV, LABEL, ARG: the words (quotes kept); `pairs` is their meaning.
  //   FROM, EXPOSE, STOPSIGNAL, COPY/ADD/VOLUME shell form: the whitespace-separated words.
  //   HEALTHCHECK NONE: none. ONBUILD: none (see `trigger`).
  std::vector<std::string> args;
  bool exec_form = false;                      // the arguments were a JSON array
  std::vector<Heredoc> heredocs;               // RUN, COPY, ADD (shell form only), in the order of their markers
  std::vector<KeyValue> pairs;                 // ENV, LABEL, ARG
  std::optional<Healthcheck> health;           // HEALTHCHECK
  std::shared_ptr<const Instruction> trigger;  // ONBUILD's instruction (never FROM, MAINTAINER or ONBUILD)

  // The flag of this name (the last one for the repeatable --mount and --exclude), or null.
  const Flag* flag(std::string_view name) const;
  // Every value of a repeatable flag, in order ("mount", "exclude").
  std::vector<std::string> flag_values(std::string_view name) const;
  // Whether a boolean flag is given and true.
  bool flag_set(std::string_view name) const;

  // COPY and ADD: every argument but the last, and the last. A source that is a heredoc marker
  // (`<<EOF`) stands for that heredoc's content: see heredoc_for.
  std::span<const std::string> sources() const;
  const std::string& destination() const;
  // The heredoc a word such as `<<EOF` or `<<-"EOF"` names, or null when the word is no marker.
  const Heredoc* heredoc_for(std::string_view word) const;
};

// ONBUILD's trigger as docker stores it in the image config's OnBuild list: the trigger's text,
// and each heredoc appended as "\n" + content + delimiter.
std::string onbuild_expression(const Instruction& onbuild);

struct Stage {
  Instruction from;                       // the FROM line itself
  std::string base;                       // the image as written ("alpine:${V}", "scratch", an earlier stage's name): expanded later
  std::string name;                       // after AS, lower-cased; empty when there is none
  std::string platform;                   // --platform's value as written; empty when there is none
  int line = 0;                           // FROM's line
  std::vector<Instruction> instructions;  // everything after FROM up to the next FROM
};

struct Directives {
  char escape = '\\';  // '\\' or '`'
  std::string syntax;  // `# syntax=` (recorded; tiffin has one frontend)
  std::string check;   // `# check=` (buildkit's build-check configuration), as written
};

struct Dockerfile {
  Directives directives;
  std::vector<Instruction> meta_args;  // the ARGs before the first FROM: usable in FROM lines
  std::vector<Stage> stages;           // at least one; stage names are unique
};

// Parses a whole Dockerfile (UTF-8, optionally with a BOM; LF or CRLF line endings).
// Errc::invalid_input as described above for anything docker would refuse, and for a file with
// no FROM.
Result<Dockerfile> parse_dockerfile(std::string_view text);

}  // namespace tiffin::build
