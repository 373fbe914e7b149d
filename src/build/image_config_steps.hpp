// The Dockerfile instructions that change a stage's image config rather than its files — ENV,
// ARG, LABEL, WORKDIR, USER, EXPOSE, VOLUME, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, HEALTHCHECK,
// ONBUILD, MAINTAINER — with docker's expansion rules, and what RUN needs of the same state
// (its command line and environment). Pure: unit-tested without an engine.
//
// Expansion (shell_lexer.hpp) sees the stage's ENV over its ARGs (an ENV of the same name wins,
// as docker says). One instruction's words all see the values from before it (`ENV A=1 B=$A`
// gives B the old A). Exec forms are never expanded; shell forms of RUN, CMD and ENTRYPOINT are
// the shell's to expand.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "build/dockerfile.hpp"
#include "common/error.hpp"
#include "flist/image_config.hpp"

namespace tiffin::build {

struct StageScope {
  struct Arg {
    std::string name;
    std::optional<std::string> value;  // none: declared without a value and none given
  };
  std::vector<Arg> args;                               // ARGs declared in this stage, in order
  std::vector<std::string> meta_args;                  // KEY=value of the ARGs before the first FROM
  std::map<std::string, std::string> build_args;       // --build-arg
  std::vector<std::string> shell = {"/bin/sh", "-c"};  // SHELL
  bool cmd_from_base = true;                           // CMD is still the base image's
};

// What apply_config_step did besides the config: WORKDIR's directory to make.
struct ConfigStepEffect {
  std::optional<std::string> mkdir;
};

// Applies one config instruction. Errc::invalid_input for what docker refuses at build time (a
// bad port, an unset ${X:?}); Errc::internal for RUN, COPY, ADD or FROM (not config steps).
Result<ConfigStepEffect> apply_config_step(const Instruction& ins, ImageConfig& config, StageScope& scope, char escape);

// "KEY=value" for expansion: the ARGs with values, then ENV (which wins).
std::vector<std::string> scope_env(const StageScope& scope, const ImageConfig& config);
// RUN's environment: ENV, plus the ARGs with values that ENV does not set.
std::vector<std::string> run_env(const StageScope& scope, const ImageConfig& config);
// The ARGs with values as one string, sorted: part of every step's cache key.
std::string arg_values(const StageScope& scope);
// RUN's argv: the exec form as it is; the shell form (with its heredocs appended, for the shell
// to read) after SHELL.
Result<std::vector<std::string>> run_argv(const Instruction& ins, const StageScope& scope);

}  // namespace tiffin::build
