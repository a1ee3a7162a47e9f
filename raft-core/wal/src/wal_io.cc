#include "wal_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace raftbgp::raft::wal {

std::string join_path(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

int read_file(const std::string& path, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return err;
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;  // shorter than fstat said: someone else is writing
      ::close(fd);
      return err;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return 0;
}

int list_dir(const std::string& dir, std::vector<std::string>& names) {
  names.clear();
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  const int err = errno;
  ::closedir(d);
  return err;
}

int sync_data(int fd) { return ::fdatasync(fd) == 0 ? 0 : errno; }

int sync_all(int fd) { return ::fsync(fd) == 0 ? 0 : errno; }

int close_fd(int& fd) {
  if (fd < 0) return 0;
  // No retry on EINTR: on Linux the descriptor is released even then.
  const int rc = ::close(fd);
  fd = -1;
  return rc == 0 ? 0 : errno;
}

int make_dir(const std::string& dir, std::string& failed_path) {
  failed_path = dir;
  if (::mkdir(dir.c_str(), kDirMode) != 0) return errno == EEXIST ? 0 : errno;
  std::string parent = ".";
  const std::size_t slash = dir.find_last_of('/');
  if (slash == 0) parent = "/";
  if (slash != std::string::npos && slash > 0) parent = dir.substr(0, slash);
  failed_path = parent;
  int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int err = sync_all(fd);
  close_fd(fd);
  return err;
}

int write_file(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
  if (fd < 0) return errno;
  const int err = write_all(fd, bytes);
  const int close_err = close_fd(fd);
  return err != 0 ? err : close_err;
}

int remove_path(const std::string& path) { return std::remove(path.c_str()) == 0 ? 0 : errno; }

}  // namespace raftbgp::raft::wal
