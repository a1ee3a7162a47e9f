#include "raftbgp/agent/version.h"

#include "raftbgp/transport/frame.h"

namespace raftbgp::agent {

const char* const kProjectVersion = RAFTBGP_PROJECT_VERSION;

std::string version_line(const std::string& program) {
  return program + " " + kProjectVersion + " (git " + kGitRevision + ", frame format " +
         std::to_string(static_cast<int>(transport::kFrameVersion)) + ", " +
         std::to_string(static_cast<int>(transport::kFrameVersionDeflate)) + " compressed)";
}

}  // namespace raftbgp::agent
