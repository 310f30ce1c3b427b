#include "gdb/gdb_connection.h"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {
// The longest packet body accepted: 8 times the PacketSize rr announces
// (0x20000), which escapes can at most double.
constexpr size_t kMaxPacketBody = 1 << 20;
}  // namespace

Result<std::unique_ptr<GdbConnection>> GdbConnection::listen(uint16_t port) {
  std::unique_ptr<GdbConnection> c(new GdbConnection());
  c->log_ = getenv("RR_GDB_LOG") != nullptr;
  c->listen_fd_ = ScopedFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!c->listen_fd_.is_open()) return make_error("socket: " + errno_text());
  int one = 1;
  setsockopt(c->listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(c->listen_fd_.get(), (sockaddr*)&a, sizeof(a)) != 0)
    return make_error("cannot listen on port " + std::to_string(port) + ": " + errno_text());
  if (::listen(c->listen_fd_.get(), 1) != 0) return make_error("listen: " + errno_text());
  socklen_t len = sizeof(a);
  getsockname(c->listen_fd_.get(), (sockaddr*)&a, &len);
  c->port_ = ntohs(a.sin_port);
  return c;
}

Status GdbConnection::accept(pid_t gdb_pid) {
  for (;;) {
    pollfd p = {listen_fd_.get(), POLLIN, 0};
    int ready = poll(&p, 1, 200);
    if (ready < 0 && errno != EINTR) return make_error("poll: " + errno_text());
    if (ready <= 0) {
      int status;
      if (gdb_pid > 0 && waitpid(gdb_pid, &status, WNOHANG) == gdb_pid)
        return make_error("gdb ended before it connected");
      continue;
    }
    int fd = accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) {
      fd_ = ScopedFd(fd);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      listen_fd_ = ScopedFd();
      return {};
    }
    if (errno != EINTR) return make_error("accept: " + errno_text());
  }
}

std::optional<char> GdbConnection::get_byte(bool block) {
  if (inpos_ < inbuf_.size()) return inbuf_[inpos_++];
  inbuf_.clear();
  inpos_ = 0;
  if (!block) {
    pollfd p = {fd_.get(), POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return std::nullopt;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n > 0) {
      inbuf_.assign(buf, n);
      return inbuf_[inpos_++];
    }
    if (n < 0 && errno == EINTR) continue;
    return std::nullopt;
  }
}

bool GdbConnection::interrupted() {
  while (!pending_interrupt_) {
    if (inpos_ < inbuf_.size()) {
      if (inbuf_[inpos_] != '\x03') break;
      ++inpos_;
      pending_interrupt_ = true;
      break;
    }
    auto b = get_byte(false);
    if (!b) break;
    if (*b == '\x03') {
      pending_interrupt_ = true;
    } else {
      --inpos_;  // keep it for read_packet
      break;
    }
  }
  bool was = pending_interrupt_;
  pending_interrupt_ = false;
  return was;
}

std::optional<std::string> GdbConnection::read_packet() {
  if (pending_interrupt_) {
    pending_interrupt_ = false;
    return std::string("\x03");
  }
  for (;;) {
    std::optional<char> c;
    do {
      c = get_byte(true);
      if (!c) return std::nullopt;
      if (*c == '\x03') return std::string("\x03");
    } while (*c != '$');
    std::string body;
    uint8_t sum = 0;
    for (;;) {
      c = get_byte(true);
      if (!c) return std::nullopt;
      if (*c == '#') break;
      sum += (uint8_t)*c;
      body += *c;
      if (body.size() > kMaxPacketBody) {
        // Far beyond the PacketSize rr announced: not a gdb that follows the protocol.
        fprintf(stderr, "rr: the debugger sent a packet of more than %zu bytes; closing the connection\n", kMaxPacketBody);
        return std::nullopt;
      }
    }
    char ck[3] = {0, 0, 0};
    for (int i = 0; i < 2; ++i) {
      c = get_byte(true);
      if (!c) return std::nullopt;
      ck[i] = *c;
    }
    bool good = strtoul(ck, nullptr, 16) == sum;
    if (ack_) {
      if (!put(good ? "+" : "-")) return std::nullopt;
      if (!good) continue;
    }
    // Undo escapes ('}' then byte ^ 0x20) and run-length encoding ('*').
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
      char ch = body[i];
      if (ch == '}' && i + 1 < body.size()) {
        out += (char)(body[++i] ^ 0x20);
      } else if (ch == '*' && i + 1 < body.size() && !out.empty()) {
        int n = (uint8_t)body[++i] - 29;
        out.append(n > 0 ? n : 0, out.back());
      } else {
        out += ch;
      }
    }
    if (log_) fprintf(stderr, "gdb-> %s\n", out.c_str());
    return out;
  }
}

bool GdbConnection::put(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd_.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += n;
  }
  return true;
}

Status GdbConnection::send(const std::string& payload) {
  if (log_) fprintf(stderr, "<-rr %s\n", payload.substr(0, 200).c_str());
  std::string framed = "$";
  uint8_t sum = 0;
  for (char c : payload) {
    if (c == '$' || c == '#' || c == '}' || c == '*') {
      framed += '}';
      sum += '}';
      c ^= 0x20;
    }
    framed += c;
    sum += (uint8_t)c;
  }
  char tail[4];
  snprintf(tail, sizeof tail, "#%02x", sum);
  framed += tail;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (!put(framed)) return make_error("gdb closed the connection");
    if (!ack_) return {};
    // Wait for the acknowledgement; an interrupt byte may come first.
    for (;;) {
      auto c = get_byte(true);
      if (!c) return make_error("gdb closed the connection");
      if (*c == '+') return {};
      if (*c == '-') break;
      if (*c == '\x03') pending_interrupt_ = true;
    }
  }
  return make_error("gdb keeps rejecting a packet");
}

std::string to_hex(const void* data, size_t len) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  const uint8_t* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < len; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

std::string to_hex(const std::string& bytes) { return to_hex(bytes.data(), bytes.size()); }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool from_hex(const std::string& hex, std::string& out) {
  if (hex.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int a = hexval(hex[i]), b = hexval(hex[i + 1]);
    if (a < 0 || b < 0) return false;
    out += (char)(a * 16 + b);
  }
  return true;
}

std::string hex_u64(uint64_t v) {
  char b[24];
  snprintf(b, sizeof b, "%llx", (unsigned long long)v);
  return b;
}

bool parse_hex_u64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  out = 0;
  for (char c : s) {
    int v = hexval(c);
    if (v < 0) return false;
    out = out * 16 + v;
  }
  return true;
}

}  // namespace rr
