// Helpers for the agent tests: temporary data dirs, a key file, and a config for node N of a 3-node
// cluster. Nothing here sleeps or reads a clock.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "raftbgp/agent/config.h"
#include "raftbgp/transport/crypto.h"
#include "raftbgp/v1/agent.pb.h"

namespace raftbgp::agent::test {

// A directory under $TMPDIR removed (recursively) on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "raftbgp-agent-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    if (p == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string write_key_file(const std::string& dir) {
  const std::string path = dir + "/cluster.keys";
  std::ofstream(path) << "# test key\n1 " << std::string(64, 'a') << "\n";
  ::chmod(path.c_str(), 0600);
  return path;
}

inline transport::KeyRing test_keys() {
  transport::Key k{};
  k.fill(0xaa);
  transport::KeyRing ring;
  ring.add(1, k);
  return ring;
}

// Node `id` of a cluster with members 1..3, data under `root`/n<id>.
inline AgentConfig node_config(std::uint64_t id, const std::string& root) {
  AgentConfig c;
  c.node_id = id;
  c.cluster_id = 7;
  c.members = {1, 2, 3};
  c.data_dir = root + "/n" + std::to_string(id);
  c.socket_path = root + "/n" + std::to_string(id) + ".sock";
  c.key_file = root + "/cluster.keys";
  c.active_key_id = 1;
  c.next_hop_ipv6 = "fd00:255::" + std::to_string(id);
  c.local_asn = static_cast<std::uint32_t>(65000 + id);
  c.log_level = LogLevel::kWarn;
  return c;
}

// A kv.put Command of session (client, seq).
inline v1::Command put_command(const std::string& client, std::uint64_t seq, const std::string& key,
                               const std::string& value) {
  v1::Command c;
  c.set_client_id(client);
  c.set_seq(seq);
  c.mutable_kv_put()->set_key(key);
  c.mutable_kv_put()->set_value(value);
  return c;
}

}  // namespace raftbgp::agent::test
