#include "flake/pilot.hpp"

int main(int argc, char** argv) { return tiffin::flake::pilot_main(argc, argv); }
