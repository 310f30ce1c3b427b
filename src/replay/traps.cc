// The pure parts of traps: merging trap sets and matching hits to them.
#include "replay/traps.h"

#include <algorithm>

namespace rr {

TrapSet merged_traps(const TrapSet& a, const TrapSet& b) {
  TrapSet out = a;
  for (RemotePtr<> x : b.sw)
    if (std::find(out.sw.begin(), out.sw.end(), x) == out.sw.end()) out.sw.push_back(x);
  for (const HwWatch& w : b.hw)
    if (std::find(out.hw.begin(), out.hw.end(), w) == out.hw.end() && out.hw.size() < 4) out.hw.push_back(w);
  return out;
}

bool traps_hit(const TrapSet& traps, const TrapHit& hit, RemotePtr<> ip) {
  if (hit.kind == TrapHit::Software || (hit.kind == TrapHit::Hardware && hit.watch == WatchKind::Exec))
    return traps.breaks_at(hit.addr);
  if (hit.kind == TrapHit::Hardware)
    return std::any_of(traps.hw.begin(), traps.hw.end(),
                       [&](const HwWatch& w) { return w.addr == hit.addr && w.kind == hit.watch; });
  return traps.breaks_at(ip);
}

}  // namespace rr
