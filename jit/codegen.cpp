#include "jit/codegen.hpp"

#include <fmt/format.h>

#include "draftjit/status.hpp"
#include "jit/templates.hpp"
#include "jit/version.hpp"

namespace draftjit::jit {
namespace {

std::string render_prologue(const KernelSpec& spec) {
  // Only the tree swizzles: the unrolled scans have one writer thread and no strided accesses.
  const bool swizzle = spec.info().scan == Scan::Blelloch;
  return fmt::format(
      "// draftjit {} kernel {}\n"
      "constexpr int kThreads = {};\n"
      "constexpr int kSlots = {};\n"
      "constexpr int kChunk = {};\n"
      "constexpr bool kSwizzleSlots = {};\n"
      "constexpr int kStatusNegativeExtendLen = {};\n"
      "constexpr int kStatusTotalOverflow = {};\n"
      "constexpr int kStatusCapacityExceeded = {};\n"
      "constexpr int kStatusSeqLenBelowExtend = {};\n",
      kVersion, spec.name(), spec.threads, spec.slots, spec.chunk, swizzle,
      static_cast<int>(kStatusNegativeExtendLen),
      static_cast<int>(kStatusTotalOverflow), static_cast<int>(kStatusCapacityExceeded),
      static_cast<int>(kStatusSeqLenBelowExtend));
}

// "a0 | a1 | a2" over i in [0, n), or `empty` when n == 0.
template <typename Item>
std::string join_or(int n, Item item, const char* empty) {
  if (n == 0) return empty;
  std::string text;
  for (int i = 0; i < n; ++i) fmt::format_to(std::back_inserter(text), "{}{}", i == 0 ? "" : " | ", item(i));
  return text;
}

// The straight-line prefix sum both forms share: bs loads of ext, then acc over them, out[0..pad_end) written (the
// exclusive offsets, then the total repeated). With track_wrap, `wrapped` collects the sign of every prefix.
void append_prefix(fmt::memory_buffer& s, int bs, int pad_end, bool track_wrap) {
  auto out = std::back_inserter(s);
  for (int i = 0; i < bs; ++i) fmt::format_to(out, "  const int e{0} = __ldg(&ext[{0}]);\n", i);
  fmt::format_to(out, "  unsigned acc = 0u;\n");
  if (track_wrap) fmt::format_to(out, "  int wrapped = 0;  // sign bit set iff a prefix passed INT32_MAX\n");
  for (int i = 0; i < bs; ++i) {
    fmt::format_to(out, "  out[{0}] = acc;\n  acc += e{0};\n{1}", i,
                   track_wrap ? "  wrapped |= static_cast<int>(acc);\n" : "");
  }
  for (int j = bs; j < pad_end; ++j) fmt::format_to(out, "  out[{}] = acc;\n", j);
  fmt::format_to(out, "  *total = acc;\n");
}

}  // namespace

std::string render_unrolled_scan(int bs) {
  fmt::memory_buffer s;  // appends without std::string's per-character growth checks
  auto out = std::back_inserter(s);
  fmt::format_to(out,
                 "// Fully unrolled sequential scan over {} requests: every load is issued before the first add.\n"
                 "__device__ __forceinline__ int unrolled_scan(const int* __restrict__ ext, "
                 "const int* __restrict__ seq, unsigned* __restrict__ out, unsigned* __restrict__ total) {{\n",
                 bs);
  for (int i = 0; i < bs; ++i) fmt::format_to(out, "  const int q{0} = __ldg(&seq[{0}]);\n", i);
  append_prefix(s, bs, bs + 1, /*track_wrap=*/true);
  fmt::format_to(out, "  const int negative = {};  // sign bit set iff a length is negative\n",
                 join_or(bs, [](int i) { return fmt::format("e{}", i); }, "0"));
  fmt::format_to(out, "  const bool short_seq = {};\n",
                 join_or(bs, [](int i) { return fmt::format("(q{0} < e{0})", i); }, "false"));
  fmt::format_to(out,
                 "  return (negative < 0 ? kStatusNegativeExtendLen : 0) | (wrapped < 0 ? kStatusTotalOverflow : 0) |\n"
                 "         (short_seq ? kStatusSeqLenBelowExtend : 0);\n"
                 "}}\n");
  return fmt::to_string(s);
}

std::string render_unrolled_prefix(int bs, int pad_end) {
  fmt::memory_buffer s;
  fmt::format_to(std::back_inserter(s),
                 "// Fully unrolled sequential prefix over {} requests: every load is issued before the first add.\n"
                 "__device__ __forceinline__ void unrolled_prefix(const int* __restrict__ ext, "
                 "unsigned* __restrict__ out, unsigned* __restrict__ total) {{\n",
                 bs);
  append_prefix(s, bs, pad_end, /*track_wrap=*/false);
  fmt::format_to(std::back_inserter(s), "}}\n");
  return fmt::to_string(s);
}

std::string render_source(const KernelSpec& spec) {
  const KindInfo& info = spec.info();
  std::string source = render_prologue(spec);
  auto append = [&](std::string_view text) {
    source += '\n';
    source += text;
  };
  append(template_text(TemplateId::kernel_params));
  append(template_text(TemplateId::common));
  switch (info.scan) {
    case Scan::UnrolledToOffsets: append(render_unrolled_scan(spec.bs)); break;
    case Scan::UnrolledToSlots:
      append(render_unrolled_prefix(spec.bs, spec.slots));
      append(template_text(TemplateId::unrolled_block_scan));
      break;
    case Scan::Blelloch: append(template_text(TemplateId::blelloch_block_scan)); break;
    case Scan::None: break;
  }
  append(template_text(info.kernel));
  return source;
}

}  // namespace draftjit::jit
