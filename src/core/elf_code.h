// Where the code of an ELF file is, as opposed to its data: the .text
// section by its section headers, and inside it the functions its unwind
// tables (.eh_frame) describe. Code rewriting (the progress counter's
// branches, rdrand and rdseed traps) reads only inside those functions:
// hand-written assembly keeps constant tables and strings in .text (OpenSSL's
// SHA-1 and SHA-512 round constants, AES tables, version strings), and a
// linear sweep of .text decodes them as instructions, some of them branches,
// whose rewriting would change the program's data. Pure functions of the
// file's bytes. See docs/progress-counter.md, "Which bytes are code".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace rr {

// Where an ELF file's .text section is: its address in the file's own
// layout, its offset in the file and its size.
struct TextSection {
  uint64_t addr = 0, offset = 0, size = 0;
};
// The .text section of the ELF file `elf` (its bytes), by its section
// headers; an error saying why there is none.
Result<TextSection> text_section(std::string_view elf);

// The bytes of an ELF file that this header's functions look at, each at
// its offset in an image of the file's size: the ELF header, the section
// headers, their names, .eh_frame and, when asked for, .text. Every other
// byte reads as zero and costs nothing: the image is an anonymous mapping
// whose untouched pages the kernel never allocates. python3.11's file is
// 6.8 MB, of which the progress counter needs about 0.4 MB (it reads the
// code from the tracee); whole-file reads were 10% of a profile's samples
// of `rr record python3 -c pass` (docs/benchmarks.md, "Per-process costs").
class ElfBytes {
 public:
  ElfBytes() = default;
  ElfBytes(ElfBytes&& o) noexcept;
  ElfBytes& operator=(ElfBytes&& o) noexcept;
  ElfBytes(const ElfBytes&) = delete;
  ElfBytes& operator=(const ElfBytes&) = delete;
  ~ElfBytes();
  std::string_view view() const { return {data_, size_}; }

 private:
  friend Result<ElfBytes> read_elf_file(const std::string& path, bool with_text);
  char* data_ = nullptr;
  size_t size_ = 0;
};

// The parts of the ELF file at `path` that text_section, code_ranges and
// is_go_program read (with `with_text`, .text too); an error, without
// reading it all, when it is no ELF file or larger than kMaxElfFile (a
// mapped file of code may be anything: a JIT's double-mapped memfd of 20
// GB, mostly a hole, is no ELF file), or when it shrinks while read.
constexpr uint64_t kMaxElfFile = 1ull << 31;
Result<ElfBytes> read_elf_file(const std::string& path, bool with_text);

// [start, end) in the file's own address layout.
struct AddrRange {
  uint64_t start = 0, end = 0;
  bool operator==(const AddrRange&) const = default;
};

// The address ranges of the functions the .eh_frame section of `elf`
// describes (one per FDE), sorted, overlaps merged (adjacent ones are
// not: each stays a function of its own), empty ones dropped.
// Empty when the file has no .eh_frame; an error when it has one that
// cannot be read to its end (then nothing of it is trusted).
Result<std::vector<AddrRange>> eh_frame_functions(std::string_view elf);

// Whether `elf` is a program built by Go's toolchain (its sections say so).
bool is_go_program(std::string_view elf);

// The parts of `text` that are code and may be decoded from their start:
// the functions of eh_frame_functions within .text; the whole of .text for a
// Go program (which has no unwind tables and keeps no data in .text); an
// error saying why nothing is trusted otherwise.
Result<std::vector<AddrRange>> code_ranges(std::string_view elf, const TextSection& text);

// The build id the linker wrote in the ELF file open at `fd` (a note of
// type NT_GNU_BUILD_ID named "GNU", or Go's of type 4 named "Go"), read
// from its program headers' notes; empty where it has none or is no ELF
// file. A function of the file's contents at link time.
std::string elf_build_id(int fd);

}  // namespace rr
