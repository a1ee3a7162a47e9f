// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum that frames every WAL record
// and the hard state file (wal_storage.h). Pure: no IO, no state; software slicing-by-8, so the
// same bytes give the same value on every machine (the WAL must be readable after a CPU change).
//
// Conventions match iSCSI/ext4/LevelDB: initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF, so
// crc32c("123456789") == 0xE3069283 (the standard check value).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace raftbgp::raft {

// Continues a CRC over more bytes: crc32c_extend(crc32c(a), b) == crc32c(a + b). Start from 0 for
// the CRC of nothing. `data` is only read during the call.
std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::uint8_t> data);
std::uint32_t crc32c_extend(std::uint32_t crc, std::string_view data);

// The CRC-32C of `data`.
inline std::uint32_t crc32c(std::span<const std::uint8_t> data) { return crc32c_extend(0, data); }
inline std::uint32_t crc32c(std::string_view data) { return crc32c_extend(0, data); }

}  // namespace raftbgp::raft
