// A temporary directory for a benchmark that writes files, removed with everything in it at the end. On a real disk:
// the directory named by the environment variable `env` when it is set, else /var/tmp (tmpfs would make fsync free).
#pragma once

#include <stdlib.h>  // mkdtemp
#include <sys/vfs.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace raftbgp::bench {

class BenchDir {
 public:
  // mkdtemp of <root>/<prefix>-XXXXXX; path() is empty if that failed.
  BenchDir(const char* env, const std::string& prefix) {
    const char* root = std::getenv(env);
    std::string tmpl = std::string(root != nullptr ? root : "/var/tmp") + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  const std::string& path() const { return path_; }
  bool on_tmpfs() const {
    constexpr long kTmpfsMagic = 0x01021994;
    struct statfs st {};
    return ::statfs(path_.c_str(), &st) == 0 && st.f_type == kTmpfsMagic;
  }

 private:
  std::string path_;
};

}  // namespace raftbgp::bench
