#include "oci/oci_cli.hpp"

int main(int argc, char** argv) { return tiffin::oci::oci_main(argc, argv); }
