// The version both binaries print for --version: the CMake project version, the git revision of the tree
// they were built from (`git describe --always --dirty --tags`, taken at build time by cmake/Version.cmake;
// "unknown" outside a git checkout) and the frame format version they write (frame.h kFrameVersion).
#pragma once

#include <string>

namespace raftbgp::agent {

extern const char* const kProjectVersion;  // "0.1.0", from project(VERSION) in the top CMakeLists.txt
extern const char* const kGitRevision;     // e.g. "02e1440-dirty"

// "NAME VERSION (git REV, frame format N)" on one line, without a newline.
std::string version_line(const std::string& program);

}  // namespace raftbgp::agent
