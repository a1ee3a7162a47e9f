// Prints the ExaBGP commands of the golden capture (see golden_commands.h), one per line.
// Usage: raftbgp_golden_commands IPV6_NEXT_HOP
#include "golden_commands.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: raftbgp_golden_commands IPV6_NEXT_HOP\n");
    return 2;
  }
  for (const std::string& l : raftbgp::transport::golden::golden_commands(argv[1])) std::printf("%s\n", l.c_str());
  return 0;
}
