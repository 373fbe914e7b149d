// tiffin-oci: runc's command line over the runtime library. One file per verb registers its
// subcommand; errors go to stderr and to --log (text or runc's JSON lines), and exit 1 as runc's.
// tiffin's own extension, --error-fd N, also writes a failure's encode_error form and a newline
// to fd N, so a caller (the engine's shim) gets the error's kind without reading messages.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/container.hpp"

namespace tiffin::oci {

struct Globals {
  runtime::RuntimeOptions rt;
  std::string log_file, log_format = "text";
  int error_fd = -1;  // --error-fd
  bool errors_to_fd_only = false;
  bool debug = false;
  int exit_code = 0;

  // Keeps a verb's option values alive for as long as the command line is parsed and run.
  template <class T>
  T& keep(T value = T{}) {
    auto p = std::make_shared<T>(std::move(value));
    storage.push_back(p);
    return *p;
  }
  std::vector<std::shared_ptr<void>> storage;
};

// Reports an error the way callers (conmon, containerd) read it, and to --error-fd, and sets exit
// code 1.
void report_error(Globals& g, const Error& e);
void log_line(const Globals& g, const char* level, const std::string& msg);
// Runs a verb's body: errors are reported, a returned code becomes the exit code.
void run_verb(Globals& g, const std::function<Result<int>()>& body);

void add_create(CLI::App& app, Globals& g);
void add_start(CLI::App& app, Globals& g);
void add_run(CLI::App& app, Globals& g);
void add_state(CLI::App& app, Globals& g);
void add_list(CLI::App& app, Globals& g);
void add_kill(CLI::App& app, Globals& g);
void add_delete(CLI::App& app, Globals& g);
void add_exec(CLI::App& app, Globals& g);
void add_ps(CLI::App& app, Globals& g);
void add_pause_resume(CLI::App& app, Globals& g);
void add_update(CLI::App& app, Globals& g);
void add_features(CLI::App& app, Globals& g);
void add_spec(CLI::App& app, Globals& g);

int oci_main(int argc, char** argv);

}  // namespace tiffin::oci
