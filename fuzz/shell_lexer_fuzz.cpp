// Fuzzes tiffin build's word parts (src/build): docker's word expansion over any text, with
// either escape character and buildkit's heredoc switches, against variables whose values are
// themselves patterns and templates; and the .dockerignore reader and matcher over any file,
// with paths taken from the input. Nothing may crash or hang; errors are invalid input; and the
// matcher keeps its promises: what parses reads back from patterns(), and a directory
// may_include_under() says to skip holds nothing that is included.
//
// Input: one byte of switches, then the word up to the first NUL, then the .dockerignore.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "build/dockerignore.hpp"
#include "build/go_text.hpp"
#include "build/shell_lexer.hpp"

using namespace tiffin;
using namespace tiffin::build;

namespace {

const VarLookup& env() {
  static const VarLookup lookup = env_lookup(std::vector<std::string>{
      "A=a.b.c", "B=a b\tc", "E=", "S=*", "N=x\ny", "P=\\", "R=<$0>${0}$$", "U=한국어", "W=/usr/local/bin", "1=one", "@=all"});
  return lookup;
}

void fuzz_words(uint8_t switches, std::string_view word) {
  ShellLexer lexer{.escape = (switches & 1) ? '`' : '\\',
      .raw_quotes = (switches & 2) != 0,
      .raw_escapes = (switches & 4) != 0,
      .skip_process_quotes = (switches & 8) != 0,
      .skip_unset_env = (switches & 16) != 0};
  auto e = lexer.process(word, env());
  if (!e) {
    if (e.error().kind != Errc::invalid_input) std::abort();
  } else {
    for (const auto& name : e->matched)
      if (e->unmatched.contains(name)) std::abort();
  }
  // The plain entry points agree with each other on success.
  std::set<std::string> used;
  auto one = expand_word(word, env(), lexer.escape, &used);
  auto many = expand_words(word, env(), lexer.escape);
  if (one.has_value() != many.has_value()) std::abort();
}

// The lines of `text`, cut short: the matcher's cost grows with the path's depth and length.
std::vector<std::string> paths_from(std::string_view text, std::string_view word) {
  std::vector<std::string> paths = {std::string(word.substr(0, 128)), "a", "a/b/c", "node_modules/x/y"};
  for (size_t i = 0; i < text.size() && paths.size() < 12;) {
    size_t nl = std::min(text.find('\n', i), text.size());
    paths.emplace_back(text.substr(i, std::min<size_t>(nl - i, 128)));
    i = nl + 1;
  }
  return paths;
}

void fuzz_ignore(std::string_view text, std::string_view word) {
  auto d = DockerIgnore::parse(text);
  if (!d) {
    if (d.error().kind != Errc::invalid_input) std::abort();
    return;
  }
  // patterns() reads back the same, unless cleaning one left blanks at its end ("x \t/"), which
  // docker's second reading trims as this one does.
  auto blank_ended = [](const std::string& p) { return build::go_text::trim_space(p) != p; };
  bool round_trips = std::none_of(d->patterns().begin(), d->patterns().end(), blank_ended);
  auto again = DockerIgnore::from_patterns(d->patterns());
  if (!again || (round_trips && again->patterns() != d->patterns())) std::abort();
  for (const std::string& path : paths_from(text, word)) {
    bool out = d->excluded(path);
    if (round_trips && again->excluded(path) != out) std::abort();
    if (out && !d->may_include_under(path) && !d->excluded(path + "/x")) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t nul = rest.find('\0');
  std::string_view word = rest.substr(0, nul);
  std::string_view ignore = nul == std::string_view::npos ? rest : rest.substr(nul + 1);
  fuzz_words(data[0], word);
  fuzz_ignore(ignore, word);
  return 0;
}
