#include "raftbgp/agent/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "raftbgp/transport/crypto.h"

namespace raftbgp::agent {
namespace {

FileError os_error(const char* op, const std::string& path) {
  return FileError{std::string(op) + " " + path + ": " + std::strerror(errno)};
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::optional<FileError> write_all(int fd, const std::string& content, const std::string& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("write", path);
    done += static_cast<std::size_t>(n);
  }
  return std::nullopt;
}

}  // namespace

std::optional<FileError> ensure_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return std::nullopt;
  return os_error("mkdir", dir);
}

std::optional<FileError> atomic_write_file(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return os_error("open", tmp);
  std::optional<FileError> err = write_all(fd, content, tmp);
  if (!err && ::fsync(fd) != 0) err = os_error("fsync", tmp);
  ::close(fd);
  if (err) return err;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return os_error("rename", tmp);
  // The rename is durable only once the directory entry is (same rule as WalStorage's hardstate).
  const std::string dir = parent_dir(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return os_error("open", dir);
  const bool synced = ::fsync(dfd) == 0;
  ::close(dfd);
  if (!synced) return os_error("fsync", dir);
  return std::nullopt;
}

std::variant<std::optional<std::string>, FileError> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>{};
    return os_error("open", path);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      FileError e = os_error("read", path);
      ::close(fd);
      return e;
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

std::variant<std::uint64_t, FileError> bump_epoch(const std::string& data_dir) {
  const std::string path = data_dir + "/epoch";
  auto content = read_file(path);
  if (auto* e = std::get_if<FileError>(&content)) return *e;
  std::uint64_t epoch = 0;
  if (const auto& text = std::get<std::optional<std::string>>(content); text) {
    std::string t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), epoch);
    if (ec != std::errc() || end != t.data() + t.size() || t.empty())
      return FileError{"corrupt boot counter " + path + ": \"" + t + "\" (refusing to guess an epoch)"};
  }
  if (epoch >= transport::kMaxEpoch) return FileError{"boot counter " + path + " exhausted (2^32-1 starts)"};
  ++epoch;
  if (auto e = atomic_write_file(path, std::to_string(epoch) + "\n")) return *e;
  return epoch;
}

}  // namespace raftbgp::agent
