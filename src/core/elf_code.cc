#include "core/elf_code.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "util/io.h"
#include "util/scoped_fd.h"

namespace rr {

ElfBytes::ElfBytes(ElfBytes&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}

ElfBytes& ElfBytes::operator=(ElfBytes&& o) noexcept {
  if (this != &o) {
    if (data_) munmap(data_, size_);
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

ElfBytes::~ElfBytes() {
  if (data_) munmap(data_, size_);
}

Result<ElfBytes> read_elf_file(const std::string& path, bool with_text) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.is_open()) return make_error("cannot open " + path + ": " + errno_text());
  struct stat st;
  char magic[SELFMAG];
  if (fstat(fd.get(), &st) != 0) return make_error("cannot stat " + path + ": " + errno_text());
  if (pread(fd.get(), magic, SELFMAG, 0) != SELFMAG || memcmp(magic, ELFMAG, SELFMAG) != 0)
    return make_error("it is no ELF file");
  if ((uint64_t)st.st_size > kMaxElfFile) return make_error("it is larger than 2 GiB");
  ElfBytes out;
  void* image = mmap(nullptr, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (image == MAP_FAILED) return make_error("cannot map an image of " + path + ": " + errno_text());
  out.data_ = static_cast<char*>(image);
  out.size_ = (size_t)st.st_size;
  const uint64_t size = out.size_;
  // The bytes [off, off + len) of the file, cut to its size: what lies
  // beyond it the readers find out of bounds by themselves.
  auto fill = [&](uint64_t off, uint64_t len) -> Status {
    if (off >= size) return {};
    len = std::min(len, size - off);
    while (len > 0) {
      ssize_t n = pread(fd.get(), out.data_ + off, len, (off_t)off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return make_error("cannot read " + path + ": " + errno_text());
      if (n == 0) return make_error(path + " became shorter while it was read");
      off += (uint64_t)n;
      len -= (uint64_t)n;
    }
    return {};
  };
  RR_TRY(fill(0, sizeof(Elf64_Ehdr)));
  Elf64_Ehdr eh;
  memcpy(&eh, out.data_, std::min<size_t>(sizeof eh, size));
  // Headers find_section would refuse: it refuses them from what was read.
  if (size < sizeof eh || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
      eh.e_shstrndx >= eh.e_shnum)
    return out;
  RR_TRY(fill(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr)));
  if (eh.e_shoff > size || (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > size - eh.e_shoff) return out;
  auto shdr = [&](size_t i) {
    Elf64_Shdr s;
    memcpy(&s, out.data_ + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof s);
    return s;
  };
  Elf64_Shdr names = shdr(eh.e_shstrndx);
  RR_TRY(fill(names.sh_offset, names.sh_size));
  if (names.sh_offset > size || names.sh_size > size - names.sh_offset) return out;
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr s = shdr(i);
    if (s.sh_name >= names.sh_size || s.sh_type == SHT_NOBITS) continue;
    const char* name = out.data_ + names.sh_offset + s.sh_name;
    size_t room = names.sh_size - s.sh_name;
    if (strnlen(name, room) == room) continue;
    if (strcmp(name, ".eh_frame") == 0 || (with_text && strcmp(name, ".text") == 0)) RR_TRY(fill(s.sh_offset, s.sh_size));
  }
  return out;
}

namespace {

// The section called `name` of the ELF file `elf`; nullopt when there is none,
// an error when the section headers cannot be read.
Result<std::optional<Elf64_Shdr>> find_section(std::string_view elf, const char* name) {
  auto bad = [] { return make_error("its section headers cannot be read"); };
  if (elf.size() < sizeof(Elf64_Ehdr) || memcmp(elf.data(), ELFMAG, SELFMAG) != 0) return make_error("it is no ELF file");
  Elf64_Ehdr eh;
  memcpy(&eh, elf.data(), sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum ||
      eh.e_shoff > elf.size() || (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > elf.size() - eh.e_shoff)
    return bad();
  auto shdr = [&](size_t i) {
    Elf64_Shdr s;
    memcpy(&s, elf.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof s);
    return s;
  };
  Elf64_Shdr names = shdr(eh.e_shstrndx);
  if (names.sh_offset > elf.size() || names.sh_size > elf.size() - names.sh_offset) return bad();
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr s = shdr(i);
    if (s.sh_name >= names.sh_size) continue;
    const char* found = elf.data() + names.sh_offset + s.sh_name;
    size_t room = names.sh_size - s.sh_name;
    if (strnlen(found, room) == room || strcmp(found, name) != 0) continue;
    return std::optional<Elf64_Shdr>(s);
  }
  return std::optional<Elf64_Shdr>();
}

// DWARF pointer encodings (DW_EH_PE_*) as .eh_frame uses them.
constexpr uint8_t kPeOmit = 0xff;
constexpr uint8_t kPeFormatMask = 0x0f, kPeApplyMask = 0x70;
constexpr uint8_t kPeAbs = 0x00, kPePcrel = 0x10;

// Reads .eh_frame's bytes with bounds checks; `ok` turns false at the first
// read past the end, and every read after it returns 0.
class EhReader {
 public:
  EhReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool ok = true;
  size_t pos = 0;

  uint64_t fixed(size_t n) {
    if (!ok || n > size_ - pos) return fail();
    uint64_t v = 0;
    memcpy(&v, data_ + pos, n);
    pos += n;
    return v;
  }
  int64_t signed_fixed(size_t n) {
    uint64_t v = fixed(n);
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n);
    return (int64_t)v;
  }
  uint64_t uleb() {
    uint64_t v = 0;
    for (unsigned shift = 0; ok; shift += 7) {
      uint8_t b = (uint8_t)fixed(1);
      if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  }
  int64_t sleb() {
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    do {
      b = (uint8_t)fixed(1);
      if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
      shift += 7;
    } while (ok && (b & 0x80));
    if (shift < 64 && (b & 0x40)) v |= ~0ull << shift;
    return (int64_t)v;
  }
  std::string cstring() {
    std::string s;
    for (char c; ok && (c = (char)fixed(1)) != 0;) s += c;
    return s;
  }
  // A value in the format of `enc` (its low nibble), not yet applied.
  std::optional<uint64_t> encoded(uint8_t enc) {
    switch (enc & kPeFormatMask) {
      case 0x0: return fixed(8);             // absptr
      case 0x1: return uleb();               // uleb128
      case 0x2: return fixed(2);             // udata2
      case 0x3: return fixed(4);             // udata4
      case 0x4: return fixed(8);             // udata8
      case 0x9: return (uint64_t)sleb();     // sleb128
      case 0xa: return (uint64_t)signed_fixed(2);
      case 0xb: return (uint64_t)signed_fixed(4);
      case 0xc: return (uint64_t)signed_fixed(8);
      default: return std::nullopt;
    }
  }

 private:
  uint64_t fail() {
    ok = false;
    return 0;
  }
  const uint8_t* data_;
  size_t size_;
};

// The FDE pointer encoding of the CIE at `at` (its length field), by its
// augmentation string; nullopt if it cannot be read.
std::optional<uint8_t> cie_fde_encoding(const uint8_t* data, size_t size, size_t at) {
  EhReader r(data, size);
  r.pos = at;
  uint64_t len = r.fixed(4);
  if (len == 0xffffffff) r.fixed(8);
  if (r.fixed(4) != 0 || !r.ok) return std::nullopt;  // a CIE's id is 0 in .eh_frame
  uint8_t version = (uint8_t)r.fixed(1);
  std::string aug = r.cstring();
  if (aug.find("eh") != std::string::npos) r.fixed(8);
  r.uleb();                                  // code alignment
  r.sleb();                                  // data alignment
  if (version == 1) r.fixed(1); else r.uleb();  // return address column
  uint8_t enc = kPeAbs;
  if (aug.empty() || aug[0] != 'z') return r.ok ? std::optional<uint8_t>(enc) : std::nullopt;
  r.uleb();  // augmentation data length
  for (size_t i = 1; i < aug.size() && r.ok; ++i) {
    char c = aug[i];
    if (c == 'R') {
      enc = (uint8_t)r.fixed(1);
    } else if (c == 'L') {
      r.fixed(1);
    } else if (c == 'P') {
      uint8_t penc = (uint8_t)r.fixed(1);
      if (!r.encoded(penc)) return std::nullopt;
    } else if (c != 'S' && c != 'B' && c != 'G') {
      break;  // unknown: the data length would skip it, and 'R' comes before such letters in practice
    }
  }
  return r.ok ? std::optional<uint8_t>(enc) : std::nullopt;
}

}  // namespace

Result<TextSection> text_section(std::string_view elf) {
  Result<std::optional<Elf64_Shdr>> found = find_section(elf, ".text");
  if (!found.ok()) return found.error();
  if (!found.value()) return make_error("it has no .text section");
  const Elf64_Shdr& s = *found.value();
  if (s.sh_type != SHT_PROGBITS || !(s.sh_flags & SHF_EXECINSTR)) return make_error("its section headers cannot be read");
  return TextSection{s.sh_addr, s.sh_offset, s.sh_size};
}

Result<std::vector<AddrRange>> eh_frame_functions(std::string_view elf) {
  Result<std::optional<Elf64_Shdr>> found = find_section(elf, ".eh_frame");
  if (!found.ok()) return found.error();
  std::vector<AddrRange> out;
  if (!found.value() || found.value()->sh_type == SHT_NOBITS) return out;
  const Elf64_Shdr& s = *found.value();
  auto bad = [] { return make_error("its unwind tables (.eh_frame) cannot be read"); };
  if (s.sh_offset > elf.size() || s.sh_size > elf.size() - s.sh_offset) return bad();
  const uint8_t* data = reinterpret_cast<const uint8_t*>(elf.data()) + s.sh_offset;
  size_t size = s.sh_size;
  std::map<size_t, uint8_t> encodings;  // by CIE offset
  EhReader r(data, size);
  while (r.pos + 4 <= size) {
    uint64_t len = r.fixed(4);
    if (len == 0) break;  // the terminator: unwinders read no further
    if (len == 0xffffffff) len = r.fixed(8);
    size_t body = r.pos;
    if (!r.ok || len > size - body || len < 4) return bad();
    size_t id_at = r.pos;
    uint32_t id = (uint32_t)r.fixed(4);
    if (id != 0) {
      if (id > id_at) return bad();
      size_t cie = id_at - id;
      auto known = encodings.find(cie);
      if (known == encodings.end()) {
        std::optional<uint8_t> enc = cie_fde_encoding(data, size, cie);
        if (!enc) return bad();
        known = encodings.emplace(cie, *enc).first;
      }
      uint8_t enc = known->second;
      if (enc == kPeOmit || ((enc & kPeApplyMask) != kPeAbs && (enc & kPeApplyMask) != kPePcrel)) return bad();
      uint64_t field = s.sh_addr + r.pos;
      std::optional<uint64_t> begin = r.encoded(enc);
      std::optional<uint64_t> range = r.encoded(enc & kPeFormatMask);
      if (!begin || !range || !r.ok) return bad();
      uint64_t start = *begin + ((enc & kPeApplyMask) == kPePcrel ? field : 0);
      if (*range != 0 && start != 0 && start + *range > start) out.push_back({start, start + *range});
    }
    r.pos = body + len;
  }
  std::sort(out.begin(), out.end(), [](const AddrRange& a, const AddrRange& b) { return a.start < b.start; });
  std::vector<AddrRange> merged;
  for (const AddrRange& a : out) {
    if (!merged.empty() && a.start < merged.back().end)
      merged.back().end = std::max(merged.back().end, a.end);
    else
      merged.push_back(a);
  }
  return merged;
}

bool is_go_program(std::string_view elf) {
  for (const char* go : {".gopclntab", ".go.buildinfo"}) {
    Result<std::optional<Elf64_Shdr>> found = find_section(elf, go);
    if (found.ok() && found.value()) return true;
  }
  return false;
}

Result<std::vector<AddrRange>> code_ranges(std::string_view elf, const TextSection& text) {
  Result<std::vector<AddrRange>> functions = eh_frame_functions(elf);
  if (!functions.ok()) return functions.error();
  uint64_t text_end = text.addr + text.size;
  std::vector<AddrRange> in_text;
  for (const AddrRange& f : functions.value()) {
    uint64_t start = std::max(f.start, text.addr), end = std::min(f.end, text_end);
    if (start < end) in_text.push_back({start, end});
  }
  if (!in_text.empty()) return in_text;
  if (is_go_program(elf)) return std::vector<AddrRange>{{text.addr, text_end}};
  return make_error("no unwind tables (.eh_frame) say where the functions of its .text are");
}

std::string elf_build_id(int fd) {
  Elf64_Ehdr eh;
  if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
      eh.e_phnum > 256)
    return "";
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  size_t bytes = ph.size() * sizeof(Elf64_Phdr);
  if (pread(fd, ph.data(), bytes, (off_t)eh.e_phoff) != (ssize_t)bytes) return "";
  for (const Elf64_Phdr& p : ph) {
    if (p.p_type != PT_NOTE || p.p_filesz == 0 || p.p_filesz > 64 * 1024) continue;
    std::string notes(p.p_filesz, '\0');
    if (pread(fd, notes.data(), notes.size(), (off_t)p.p_offset) != (ssize_t)notes.size()) continue;
    size_t at = 0;
    auto align4 = [](size_t n) { return (n + 3) & ~(size_t)3; };
    while (at + sizeof(Elf64_Nhdr) <= notes.size()) {
      Elf64_Nhdr nh;
      memcpy(&nh, notes.data() + at, sizeof nh);
      size_t name_at = at + sizeof nh, desc_at = name_at + align4(nh.n_namesz);
      if (nh.n_namesz > notes.size() || nh.n_descsz > notes.size() || desc_at + nh.n_descsz > notes.size()) break;
      std::string_view name(notes.data() + name_at, nh.n_namesz);
      if ((nh.n_type == NT_GNU_BUILD_ID && name == std::string_view("GNU\0", 4)) ||
          (nh.n_type == 4 && name == std::string_view("Go\0\0", 4)))
        if (nh.n_descsz > 0) return std::string(notes.data() + desc_at, nh.n_descsz);
      at = desc_at + align4(nh.n_descsz);
    }
  }
  return "";
}

}  // namespace rr
