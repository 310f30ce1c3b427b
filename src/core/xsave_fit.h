// An XSAVE area written on one machine, set on another. PTRACE_SETREGSET
// NT_X86_XSTATE takes only an area of exactly this machine's size (the
// kernel's user XSAVE size, which depends on the features the CPU and
// kernel enable: 2696 bytes with AVX-512 and PKRU, 11008 with AMX), so a
// checkpoint written where the size differs (a golden file, a checkpoint
// restored with RR_IGNORE_MACHINE=1) needs its area fitted first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rr {

// `area` (standard format, as GETREGSET gives it) resized to `size` bytes
// for a machine whose enabled features are `xcr0`: components are at the
// same offsets on every machine that has them (the standard format's
// offsets are architectural), bytes past the old end are zero (their
// components in the initial state), and XSTATE_BV keeps only components
// enabled here (one this CPU lacks cannot be read by a program here
// either). nullopt when `area` is too short to hold the legacy area and the
// header, or is in the compacted format.
std::optional<std::string> fit_xsave_area(const std::string& area, size_t size, uint64_t xcr0);

// This CPU's XCR0 (the XSAVE features the kernel enabled).
uint64_t this_xcr0();

}  // namespace rr
