// tiffin-pilot: the launcher every registered flake's command is a symlink to. It picks the flake
// by the name it was called by (argv[0]), reads its registration (flake_config.hpp) from
// $TIFFIN_FLAKES_DIR (default /usr/share/flakes) and runs the app with the caller's arguments,
// stdio, terminal, signals and exit code (flake_launch.hpp says how). Called as tiffin-pilot it
// has verbs of its own: `agent` (a resume flake's pid 1, resume_agent.hpp) and `run NAME ARGS…`.
//
// Its own failures (no such flake, bad YAML, a missing image) print "tiffin-pilot: NAME: why" and
// exit 127 (no such flake), 2 (a registration that does not parse) or 125, before anything runs.
#pragma once

namespace tiffin::flake {

int pilot_main(int argc, char** argv);

}  // namespace tiffin::flake
