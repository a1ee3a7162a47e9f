// Key file loading (format in crypto.h). The one piece of file IO in bgp-transport: it reads a small file
// once at start-up; no sockets, no threads.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

#include <openssl/crypto.h>

#include "raftbgp/transport/crypto.h"
#include "raftbgp/transport/hex.h"

namespace raftbgp::transport {
namespace {

constexpr std::size_t kMaxKeyFileBytes = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view next_word(std::string_view& s) {
  s = trim(s);
  const std::size_t end = std::min(s.find_first_of(" \t"), s.size());
  std::string_view w = s.substr(0, end);
  s.remove_prefix(end);
  return w;
}

std::optional<KeyFileError> parse_key_line(std::string_view line, KeyRing& ring) {
  std::string_view id_text = next_word(line);
  std::string_view hex = next_word(line);
  std::string_view algo = next_word(line);
  if (!trim(line).empty()) return KeyFileError{"trailing text after the algorithm"};
  std::uint32_t id = 0;
  auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || ptr != id_text.data() + id_text.size()) return KeyFileError{"key id is not a decimal u32"};
  if (hex.size() != 2 * kKeyBytes) return KeyFileError{"key must be 64 hex characters"};
  std::optional<Bytes> raw = from_hex(hex);
  if (!raw) return KeyFileError{"key is not hex"};
  AeadAlgorithm a = AeadAlgorithm::kChaCha20Poly1305;
  if (algo == "aes-256-gcm") {
    a = AeadAlgorithm::kAes256Gcm;
  } else if (!algo.empty() && algo != "chacha20-poly1305") {
    return KeyFileError{"unknown algorithm (chacha20-poly1305 or aes-256-gcm)"};
  }
  if (ring.contains(id)) return KeyFileError{"duplicate key id"};
  Key key{};
  std::copy(raw->begin(), raw->end(), key.begin());
  OPENSSL_cleanse(raw->data(), raw->size());
  ring.add(id, key, a);
  OPENSSL_cleanse(key.data(), key.size());
  return std::nullopt;
}

}  // namespace

std::variant<KeyRing, KeyFileError> parse_key_file(std::string_view text, const std::string& origin) {
  KeyRing ring;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(std::min(nl + 1, text.size()));
    ++line_no;
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (trim(line).empty()) continue;
    if (auto err = parse_key_line(line, ring))
      return KeyFileError{origin + ":" + std::to_string(line_no) + ": " + err->message};
  }
  if (ring.size() == 0) return KeyFileError{origin + ": no keys"};
  return ring;
}

namespace {

// Closes the descriptor and wipes the key text on every path out of load_key_file.
struct KeyFileReader {
  int fd = -1;
  std::string text;
  char buf[4096];
  ~KeyFileReader() {
    if (fd >= 0) ::close(fd);
    OPENSSL_cleanse(text.data(), text.size());
    OPENSSL_cleanse(buf, sizeof buf);
  }
};

std::optional<KeyFileError> check_key_file(const std::string& path, const struct ::stat& st) {
  // fstat on the opened descriptor, so what is checked is the file we read.
  if (!S_ISREG(st.st_mode)) return KeyFileError{path + ": not a regular file (a key file cannot be a FIFO or device)"};
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return KeyFileError{path + ": owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                        std::to_string(::geteuid()) + ") or root; chown it"};
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return KeyFileError{path + ": key file mode " + mode + " is accessible by group or other; use chmod 600"};
  }
  return std::nullopt;
}

}  // namespace

std::variant<KeyRing, KeyFileError> load_key_file(const std::string& path) {
  KeyFileReader r;
  // O_NOFOLLOW: a symlink is refused (ELOOP), so the checks below apply to the file named, not to
  // whatever a link points at; O_NONBLOCK: opening a FIFO does not hang before fstat refuses it.
  r.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (r.fd < 0) {
    if (errno == ELOOP) return KeyFileError{path + ": is a symlink; name the key file itself"};
    return KeyFileError{path + ": " + std::strerror(errno)};
  }
  struct ::stat st {};
  if (::fstat(r.fd, &st) != 0) return KeyFileError{path + ": fstat: " + std::strerror(errno)};
  if (auto e = check_key_file(path, st)) return *e;
  r.text.reserve(static_cast<std::size_t>(std::min<off_t>(st.st_size, kMaxKeyFileBytes)) + sizeof r.buf);
  for (;;) {
    const ssize_t n = ::read(r.fd, r.buf, sizeof r.buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return KeyFileError{path + ": read: " + std::strerror(errno)};
    if (n == 0) break;
    // Appending within the reserved capacity never reallocates, so no unwiped copy of the key text is
    // left behind in freed memory (a larger-than-stat file may still reallocate; it is refused anyway).
    r.text.append(r.buf, static_cast<std::size_t>(n));
    if (r.text.size() > kMaxKeyFileBytes) return KeyFileError{path + ": larger than 1 MiB"};
  }
  return parse_key_file(r.text, path);
}

}  // namespace raftbgp::transport
