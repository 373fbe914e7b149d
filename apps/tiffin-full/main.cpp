#include "cli/cli.hpp"

int main(int argc, char** argv) { return tiffin::cli::run_full(argc, argv); }
