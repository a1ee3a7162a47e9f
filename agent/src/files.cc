#include "raftbgp/agent/files.h"

#include <fcntl.h>
#include <sys/file.h>
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

std::optional<FileError> atomic_write_file(const std::string& path, const std::string& content, Durability durability) {
  const bool durable = durability == Durability::kPowerLoss;
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return os_error("open", tmp);
  std::optional<FileError> err = write_all(fd, content, tmp);
  if (!err && durable && ::fsync(fd) != 0) err = os_error("fsync", tmp);
  ::close(fd);
  if (err) return err;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return os_error("rename", tmp);
  if (!durable) return std::nullopt;
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

EpochLease& EpochLease::operator=(EpochLease&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    epoch_ = o.epoch_;
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

EpochLease::~EpochLease() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

namespace {

// Reads, increments and durably rewrites the counter. Caller holds the lock.
std::variant<std::uint64_t, FileError> increment_counter(const std::string& path) {
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

}  // namespace

std::variant<EpochLease, FileError> bump_epoch_file(const std::string& path) {
  // A separate lock file: the counter itself is replaced by rename, which would orphan a lock on it.
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return os_error("open", lock_path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    FileError e = errno == EWOULDBLOCK
                      ? FileError{"boot counter " + path + " is in use by another process (lock " + lock_path +
                                  "): two processes must never send with one counter; stop the other one"}
                      : os_error("flock", lock_path);
    ::close(fd);
    return e;
  }
  auto epoch = increment_counter(path);
  if (auto* e = std::get_if<FileError>(&epoch)) {
    ::close(fd);
    return *e;
  }
  return EpochLease(std::get<std::uint64_t>(epoch), fd);
}

std::variant<EpochLease, FileError> bump_epoch(const std::string& data_dir) {
  const std::string path = data_dir + "/epoch", wal = data_dir + "/wal";
  struct ::stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT && ::stat(wal.c_str(), &st) == 0)
    return FileError{"boot counter " + path + " is missing but the WAL " + wal +
                     " exists (restored without it, or deleted): starting over at epoch 1 would make peers "
                     "refuse this node's frames as replays. Write an epoch above any this node used, e.g. "
                     "`date +%s > " +
                     path + "` (seconds since 1970 exceed any boot count), then start again"};
  return bump_epoch_file(path);
}

}  // namespace raftbgp::agent
