// Private to WalStorage: thin POSIX wrappers that retry EINTR and short transfers. Each returns 0 on
// success or the errno of the call that failed; the callers decide whether that is a WalError (open)
// or a StorageIoError (mutations).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace raftbgp::raft::wal {

inline constexpr unsigned kFileMode = 0600;  // the log holds the cluster's data: owner only
inline constexpr unsigned kDirMode = 0700;

std::string join_path(const std::string& dir, std::string_view name);

int write_all(int fd, std::string_view bytes);
// Reads the whole file at `path` into `out` (ENOENT if it does not exist).
int read_file(const std::string& path, std::string& out);
// Names in `dir` other than "." and "..", in no particular order.
int list_dir(const std::string& dir, std::vector<std::string>& names);

int sync_data(int fd);  // fdatasync: data and the size needed to read it back
int sync_all(int fd);   // fsync: for directories and the hardstate file
// Closes `fd` if open and sets it to -1.
int close_fd(int& fd);

// Creates `dir` (mode 0700) if missing, fsyncing its parent so the new entry survives a crash.
// Sets `failed_path` to the path of the failing call.
int make_dir(const std::string& dir, std::string& failed_path);

// For tests and fuzz targets, which may not do file IO themselves (tests/check_layering.sh): create or
// replace the file at `path` (mode 0600) with `bytes`, without syncing; remove a file or empty directory.
int write_file(const std::string& path, std::string_view bytes);
int remove_path(const std::string& path);

}  // namespace raftbgp::raft::wal
