# The real-program seek benchmark's tracee (bench/real_seek.py): an 80 MB heap of
# pseudo-random bytes that then barely changes, and 85,000 syscalls.
import os, random
r = random.Random(1)
blobs = [r.randbytes(1 << 20) for _ in range(80)]
for i in range(85000):
    os.getppid()
print(sum(b[0] for b in blobs))
