// The shared libraries of a replayed process as gdb's
// qXfer:libraries-svr4:read wants them: the dynamic linker's list of loaded
// objects (its r_debug, found through the program's DT_DEBUG entry, and the
// link_map chain), read from the tracee's memory in one go by rr instead of
// by gdb packet after packet.
#pragma once

#include <string>

#include "core/task.h"

namespace rr {

// The XML document (gdb's library-list-svr4 DTD) for the process of `t`:
// the main program's link_map as main-lm, then one <library> per loaded
// object with a name. Before the dynamic linker has set up its list (or in
// a static program) the list is empty.
std::string library_list_svr4(Task& t);

}  // namespace rr
