// Replay needs privileges an ordinary user lacks: PID namespaces for the
// recorded tids (and moving between them), and PR_SET_MM_MAP to rebuild a
// process's layout. Both are granted inside a user namespace of one's own,
// where the kernel allows unprivileged ones. rr run by an ordinary user
// therefore replays in a child that is the first process of a new user
// and PID namespace (its own uid and gid mapped to root there; files
// outside keep their real owner and permissions). When that child ends,
// the kernel ends every process of its namespace: nothing outlives it.
#pragma once

#include <optional>

#include "util/result.h"

namespace rr {

// As root: returns nullopt at once. Else forks the child described above
// and returns nullopt in it (it goes on to replay); the parent waits for
// it and returns the exit status to exit with. Must be called while the
// process has one thread. Fails with the kernel's reason when it refuses
// the namespaces.
Result<std::optional<int>> replay_in_user_namespace();

}  // namespace rr
