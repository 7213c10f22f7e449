// Standalone exclusive scan for small bs: one thread, straight-line code, offsets written directly to global memory.
extern "C" __global__ void __launch_bounds__(1)
    draftjit_scan(const int* __restrict__ ext, const int* __restrict__ seq, int, long long capacity,
                  int* __restrict__ offsets, int* __restrict__ d_total, int* __restrict__ d_status) {
  unsigned total;
  const int bits = unrolled_scan(ext, seq, reinterpret_cast<unsigned*>(offsets), &total, nullptr);
  if (d_total != nullptr) *d_total = static_cast<int>(total);
  if (d_status != nullptr) *d_status = finalize_status(bits, total, capacity);
}
