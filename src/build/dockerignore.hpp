// The .dockerignore matcher: which paths of a build context are left out, as docker reads the
// file (moby/patternmatcher's ignorefile.ReadAll) and matches it (patternmatcher's
// MatchesOrParentMatches).
//
// The file: one pattern a line; a line starting with # is a comment (a # after blanks is not);
// blanks around a pattern are trimmed and blank lines skipped; a leading ! makes an exception
// (a path it matches is included again); each pattern is cleaned like Go's filepath.Clean
// ("./a//b/../c" is "a/c") and loses a leading /, so "/x" and "x" both mean x at the top of the
// context.
//
// A pattern is Go's filepath.Match syntax: * any run of characters but /, ? one character but
// /, [a-z0-9] [^abc] a class (it may match /; ^ negates, ! does not), \ makes the next character
// literal; and ** matches any number of directories: "**/x" is x anywhere, "a/**/b" is b
// anywhere under a (a/b too), "a/**" everything under a. As in docker, a pattern starting with
// ** and otherwise plain text is a suffix ("**.go" is any path ending in .go), and "a**b" is a,
// then directories, then b.
//
// A path is excluded when the last pattern that matches it (or one of its parent directories)
// is not an exception: "a" excludes a/b/c, "!a/b" after it includes a/b and what is under it.
//
// The Dockerfile and the .dockerignore itself are sent by docker even when a pattern excludes
// them (docker adds "!Dockerfile"-style exceptions): that is the caller's job, e.g. by
// from_patterns(patterns() plus those exceptions).
//
// Where this differs from docker: docker matches through a regular expression built from the
// pattern, so inside [...] a * or ? is mangled, a \ before a letter is a regexp escape (\d a
// digit) and a ^ outside [...] an anchor; here those are filepath.Match's plain characters. A
// reversed range ([z-a]), and a broken class after a * that Go's filepath.Match does not look
// at, are refused when the file is read, where docker fails later, walking the context.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace tiffin::build {

class DockerIgnore {
 public:
  // A .dockerignore's text. Errc::invalid_input names the line of a bad pattern ("[a", "x\",
  // a lone "!").
  static Result<DockerIgnore> parse(std::string_view text);
  // Patterns as patterns() gives them (cleaned, "!" for exceptions), e.g. with more appended.
  static Result<DockerIgnore> from_patterns(std::span<const std::string> patterns);

  // Whether the context leaves out `relative_path` (slash-separated, relative to the context;
  // cleaned first, a leading / ignored). The context's root itself is never excluded.
  bool excluded(std::string_view relative_path) const;

  // For a walker that found `dir` excluded: whether something under it could still be included
  // by an exception, so the walk has to go in. False lets it skip the whole tree (node_modules).
  // It may say true when nothing is included in the end, never false when something is.
  bool may_include_under(std::string_view dir) const;

  const std::vector<std::string>& patterns() const { return sources_; }
  bool has_exceptions() const;

  struct Pattern;  // compiled; in dockerignore.cpp
  DockerIgnore();
  ~DockerIgnore();
  DockerIgnore(DockerIgnore&&) noexcept;
  DockerIgnore& operator=(DockerIgnore&&) noexcept;
  DockerIgnore(const DockerIgnore&);
  DockerIgnore& operator=(const DockerIgnore&);

 private:
  Result<void> add(std::string_view pattern);

  std::vector<std::string> sources_;
  std::vector<Pattern> compiled_;
};

}  // namespace tiffin::build
