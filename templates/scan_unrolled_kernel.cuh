// Standalone exclusive scan for small bs: one thread, straight-line code, offsets written directly to global memory.
extern "C" __global__ void __launch_bounds__(1) draftjit_scan(const draftjit_kernels::ScanParams p) {
  unsigned total;
  const int bits = unrolled_scan(p.ext, p.seq, reinterpret_cast<unsigned*>(p.offsets), &total);
  if (p.total != nullptr) *p.total = static_cast<int>(total);
  if (p.status != nullptr) *p.status = finalize_status(bits, total, p.capacity);
}
