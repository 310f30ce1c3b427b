// Where an ELF file's code is (core/elf_code.h): the functions of this test
// program's own unwind tables, and what a damaged or missing .eh_frame gives.
#include "core/elf_code.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace rr {
namespace {

std::string self_exe() {
  std::ifstream f("/proc/self/exe", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// This program's load bias: where its file's address 0 is in memory.
uint64_t load_bias() {
  uint64_t bias = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* out) {
        *static_cast<uint64_t*>(out) = info->dlpi_addr;
        return 1;  // the first object is the program itself
      },
      &bias);
  return bias;
}

// The header of section `name` and where its name's string is in the file
// (so that a test can rename the section in a copy); a zeroed header and 0
// when there is none.
std::pair<Elf64_Shdr, size_t> section(const std::string& elf, const char* name) {
  Elf64_Ehdr eh;
  memcpy(&eh, elf.data(), sizeof eh);
  Elf64_Shdr names;
  memcpy(&names, elf.data() + eh.e_shoff + eh.e_shstrndx * sizeof(Elf64_Shdr), sizeof names);
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr s;
    memcpy(&s, elf.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof s);
    if (strcmp(elf.data() + names.sh_offset + s.sh_name, name) == 0) return {s, names.sh_offset + s.sh_name};
  }
  return {Elf64_Shdr{}, 0};
}

__attribute__((noinline)) int probe_function(int x) { return x * 3 + 1; }

TEST(ElfCode, FunctionsOfThisProgramsUnwindTables) {
  std::string elf = self_exe();
  Result<TextSection> text = text_section(elf);
  ASSERT_TRUE(text.ok()) << text.error().message;
  Result<std::vector<AddrRange>> functions = eh_frame_functions(elf);
  ASSERT_TRUE(functions.ok()) << functions.error().message;
  ASSERT_GT(functions.value().size(), 100u) << "a test program of this size has many functions";
  EXPECT_TRUE(std::is_sorted(functions.value().begin(), functions.value().end(),
                             [](const AddrRange& a, const AddrRange& b) { return a.end <= b.start; }))
      << "sorted and disjoint";
  uint64_t probe = reinterpret_cast<uint64_t>(&probe_function) - load_bias();
  auto holds = [&](const std::vector<AddrRange>& rs) {
    return std::any_of(rs.begin(), rs.end(), [&](const AddrRange& r) { return r.start <= probe && probe < r.end; });
  };
  EXPECT_TRUE(holds(functions.value())) << "no FDE covers probe_function at 0x" << std::hex << probe;
  Result<std::vector<AddrRange>> code = code_ranges(elf, text.value());
  ASSERT_TRUE(code.ok()) << code.error().message;
  EXPECT_TRUE(holds(code.value()));
  for (const AddrRange& r : code.value()) {
    EXPECT_GE(r.start, text.value().addr);
    EXPECT_LE(r.end, text.value().addr + text.value().size);
  }
  EXPECT_EQ(probe_function(2), 7);
}

TEST(ElfCode, DamagedUnwindTablesAreNotTrusted) {
  std::string elf = self_exe();
  Elf64_Shdr eh_frame = section(elf, ".eh_frame").first;
  ASSERT_GT(eh_frame.sh_size, 64u);
  // The second entry's length made to run past the section's end.
  uint32_t first_len;
  memcpy(&first_len, elf.data() + eh_frame.sh_offset, 4);
  uint32_t huge = 0x7ffffff0;
  memcpy(&elf[eh_frame.sh_offset + 4 + first_len], &huge, 4);
  Result<std::vector<AddrRange>> functions = eh_frame_functions(elf);
  ASSERT_FALSE(functions.ok());
  EXPECT_NE(functions.error().message.find(".eh_frame"), std::string::npos) << functions.error().message;
  Result<TextSection> text = text_section(elf);
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(code_ranges(elf, text.value()).ok());
}

TEST(ElfCode, NoUnwindTablesMeansNoKnownCode) {
  std::string elf = self_exe();
  size_t name = section(elf, ".eh_frame").second;
  ASSERT_NE(name, 0u);
  elf[name + 1] = 'x';  // ".xh_frame": the section is no longer found
  Result<std::vector<AddrRange>> functions = eh_frame_functions(elf);
  ASSERT_TRUE(functions.ok());
  EXPECT_TRUE(functions.value().empty());
  Result<TextSection> text = text_section(elf);
  ASSERT_TRUE(text.ok());
  Result<std::vector<AddrRange>> code = code_ranges(elf, text.value());
  ASSERT_FALSE(code.ok()) << "a file without unwind tables that is no Go program has no known code";
  EXPECT_NE(code.error().message.find("unwind tables"), std::string::npos) << code.error().message;
}

// read_elf_file reads only the parts the parsers look at: what they find in
// its image is what they find in the whole file, and the other bytes are
// zeros (a .data byte that is not zero in the file reads as zero).
TEST(ElfCode, TheImageReadHoldsWhatTheParsersLookAt) {
  static volatile int in_data = 0x5a5a5a5a;  // so that .data holds something
  ASSERT_EQ(in_data, 0x5a5a5a5a);
  std::string whole = self_exe();
  Result<TextSection> text = text_section(whole);
  ASSERT_TRUE(text.ok()) << text.error().message;
  Result<std::vector<AddrRange>> code = code_ranges(whole, text.value());
  ASSERT_TRUE(code.ok()) << code.error().message;
  for (bool with_text : {false, true}) {
    Result<ElfBytes> image = read_elf_file("/proc/self/exe", with_text);
    ASSERT_TRUE(image.ok()) << image.error().message;
    std::string_view bytes = image.value().view();
    ASSERT_EQ(bytes.size(), whole.size());
    Result<TextSection> t = text_section(bytes);
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t.value().offset, text.value().offset);
    EXPECT_EQ(t.value().size, text.value().size);
    Result<std::vector<AddrRange>> c = code_ranges(bytes, t.value());
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c.value(), code.value());
    EXPECT_EQ(is_go_program(bytes), is_go_program(whole));
    std::string_view text_bytes = bytes.substr(text.value().offset, text.value().size);
    if (with_text)
      EXPECT_EQ(text_bytes, std::string_view(whole).substr(text.value().offset, text.value().size));
    else
      EXPECT_EQ(text_bytes.find_first_not_of('\0'), std::string_view::npos) << ".text read though not asked for";
    Elf64_Shdr data = section(whole, ".data").first;
    ASSERT_GT(data.sh_size, 0u);
    std::string_view file_data = std::string_view(whole).substr(data.sh_offset, data.sh_size);
    ASSERT_NE(file_data.find_first_not_of('\0'), std::string_view::npos);
    EXPECT_EQ(bytes.substr(data.sh_offset, data.sh_size).find_first_not_of('\0'), std::string_view::npos)
        << ".data read though no parser looks at it";
  }
  EXPECT_FALSE(read_elf_file("/proc/self/status", false).ok()) << "no ELF file";
}

TEST(ElfCode, NotAnElfFile) {
  EXPECT_FALSE(text_section("#!/bin/sh\n").ok());
  EXPECT_FALSE(eh_frame_functions(std::string(10, '\0')).ok());
}

// The linker's build id, as `readelf -n` shows it: this test program's
// (GNU ld writes one by default here) is the note the loader mapped, and
// a file that is no ELF file, or one whose notes are cut short, has none.
TEST(ElfCode, BuildIdOfThisProgram) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string id = elf_build_id(fd);
  close(fd);
  ASSERT_FALSE(id.empty());
  // The same bytes through the loader's view of the notes.
  std::string mapped;
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* out) {
        if (info->dlpi_name && info->dlpi_name[0]) return 0;  // the program is the first, unnamed
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& p = info->dlpi_phdr[i];
          if (p.p_type != PT_NOTE) continue;
          const char* at = reinterpret_cast<const char*>(info->dlpi_addr + p.p_vaddr);
          for (size_t off = 0; off + sizeof(ElfW(Nhdr)) <= p.p_memsz;) {
            ElfW(Nhdr) nh;
            memcpy(&nh, at + off, sizeof nh);
            size_t desc = off + sizeof nh + ((nh.n_namesz + 3) & ~3u);
            if (nh.n_type == NT_GNU_BUILD_ID) *static_cast<std::string*>(out) = std::string(at + desc, nh.n_descsz);
            off = desc + ((nh.n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &mapped);
  EXPECT_EQ(id, mapped);
  char path[] = "/tmp/rr-build-id-XXXXXX";
  int other = mkstemp(path);
  ASSERT_GE(other, 0);
  unlink(path);
  EXPECT_EQ(elf_build_id(other), "") << "an empty file";
  ASSERT_EQ(write(other, "not an ELF file at all, but long enough for a header of sixty-four bytes", 72), 72);
  EXPECT_EQ(elf_build_id(other), "");
  close(other);
}

}  // namespace
}  // namespace rr
