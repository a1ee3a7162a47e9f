#include "raftbgp/agent/keygen.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace raftbgp::agent {
namespace {

std::string os_error(const std::string& op, const std::string& path) {
  return op + " " + path + ": " + std::strerror(errno);
}

// Writes `text` to a new file at `path` (O_EXCL, 0600) and fsyncs it.
std::optional<std::string> write_new_file(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return path + " exists: use --force to replace it";
    return os_error("create", path);
  }
  std::optional<std::string> err;
  if (::fchmod(fd, 0600) != 0) err = os_error("chmod", path);  // the umask may have removed bits
  std::size_t done = 0;
  while (!err && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      err = os_error("write", path);
    else
      done += static_cast<std::size_t>(n);
  }
  if (!err && ::fsync(fd) != 0) err = os_error("fsync", path);
  ::close(fd);
  if (err) ::unlink(path.c_str());
  return err;
}

std::string dir_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string key_file_text(std::uint32_t key_id, const transport::Key& key, transport::AeadAlgorithm algorithm) {
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (std::uint8_t b : key) {
    hex.push_back(kHex[b >> 4]);
    hex.push_back(kHex[b & 15]);
  }
  const char* alg = algorithm == transport::AeadAlgorithm::kAes256Gcm ? "aes-256-gcm" : "chacha20-poly1305";
  return "# raftbgp cluster key (raftbgpctl keygen); keep mode 0600, identical on every node\n" +
         std::to_string(key_id) + " " + hex + " " + alg + "\n";
}

std::optional<std::string> generate_key_file(const KeygenOptions& o) {
  transport::Key key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) return std::string("RAND_bytes failed");
  std::string text = key_file_text(o.key_id, key, o.algorithm);
  OPENSSL_cleanse(key.data(), key.size());
  if (!o.force) {
    auto err = write_new_file(o.path, text);
    OPENSSL_cleanse(text.data(), text.size());
    return err;
  }
  const std::string tmp = o.path + ".tmp." + std::to_string(::getpid());
  auto err = write_new_file(tmp, text);
  OPENSSL_cleanse(text.data(), text.size());
  if (err) return err;
  if (::rename(tmp.c_str(), o.path.c_str()) != 0) {
    err = os_error("rename to", o.path);
    ::unlink(tmp.c_str());
    return err;
  }
  const std::string dir = dir_of(o.path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return os_error("open", dir);
  if (::fsync(dfd) != 0) err = os_error("fsync", dir);
  ::close(dfd);
  return err;
}

}  // namespace raftbgp::agent
