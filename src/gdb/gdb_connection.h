// GdbConnection: the byte level of the gdb remote serial protocol over one
// TCP connection: $packet#checksum framing, acknowledgements (until
// QStartNoAckMode), escapes and run-length encoding on input, and the
// interrupt byte.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>

#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

class GdbConnection {
 public:
  // Listens on 127.0.0.1:`port` (0: any free port; see port()).
  static Result<std::unique_ptr<GdbConnection>> listen(uint16_t port);
  uint16_t port() const { return port_; }
  // Waits for gdb to connect; fails if process `gdb_pid` (when not 0) ends first.
  Status accept(pid_t gdb_pid = 0);
  // The next packet's payload; nullopt when gdb went away. An interrupt
  // byte (^C) outside a packet comes back as "\x03".
  std::optional<std::string> read_packet();
  // Whether gdb sent an interrupt since the last call (does not block).
  bool interrupted();
  Status send(const std::string& payload);
  void set_no_ack() { ack_ = false; }

 private:
  GdbConnection() = default;
  std::optional<char> get_byte(bool block);
  bool put(const std::string& bytes);
  ScopedFd listen_fd_;
  ScopedFd fd_;
  uint16_t port_ = 0;
  bool ack_ = true;
  bool pending_interrupt_ = false;
  bool log_ = false;  // RR_GDB_LOG: every packet on stderr
  std::string inbuf_;
  size_t inpos_ = 0;
};

// Helpers shared by the server: hex encoding of bytes and numbers.
std::string to_hex(const void* data, size_t len);
std::string to_hex(const std::string& bytes);
bool from_hex(const std::string& hex, std::string& out);
std::string hex_u64(uint64_t v);  // lower-case, no leading zeros
bool parse_hex_u64(const std::string& s, uint64_t& out);

}  // namespace rr
