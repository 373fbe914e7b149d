#include "cli/cli.hpp"

int main(int argc, char** argv) { return tiffin::cli::run_node(argc, argv); }
