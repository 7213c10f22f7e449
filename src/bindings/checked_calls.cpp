#include "bindings/checked_calls.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <string>

#include "jit/kernel_spec.hpp"
#include "primary_context.hpp"
#include "stream_order.hpp"

namespace draftjit::bindings {
namespace {

enum class Access { Read, Write };

// The rules every array argument of every call obeys.
void check_array(const ArrayArg& a, Access access) {
  if (!a.int32) throw ArgumentTypeError(fmt::format("{} must be int32, got {}", a.name, a.dtype));
  if (a.ndim != 1) throw std::invalid_argument(fmt::format("{} must be 1-D, got {} dimensions", a.name, a.ndim));
  if (!a.on_cuda) throw std::invalid_argument(fmt::format("{} must be on a CUDA device, got {}", a.name, a.place));
  if (!a.contiguous) throw std::invalid_argument(fmt::format("{} must be contiguous", a.name));
  if (access == Access::Write && a.read_only) {
    throw std::invalid_argument(fmt::format("{} is read-only but draftjit writes to it", a.name));
  }
}

void check_has_one(const ArrayArg& a) {
  if (a.length < 1) throw std::invalid_argument(fmt::format("{} must have at least one entry", a.name));
}

void check_holds_offsets(const ArrayArg& a, std::int64_t bs) {
  if (a.length < bs + 1) {
    throw std::invalid_argument(fmt::format("{} needs bs + 1 = {} entries, got {}", a.name, bs + 1, a.length));
  }
}

// The one device of the arrays that name one, and their distinct producer streams.
struct Placement {
  int device = -1;
  std::vector<CUstream> producers;
};
// On every call, so it allocates nothing unless an array names a producer stream or the devices disagree.
Placement place(std::initializer_list<const ArrayArg*> arrays) {
  Placement placement;
  for (const ArrayArg* a : arrays) {
    if (a == nullptr) continue;
    if (a->device >= 0 && placement.device < 0) placement.device = a->device;
    if (a->has_producer &&
        std::find(placement.producers.begin(), placement.producers.end(), a->producer) == placement.producers.end()) {
      placement.producers.push_back(a->producer);
    }
  }
  for (const ArrayArg* a : arrays) {
    if (a == nullptr || a->device < 0 || a->device == placement.device) continue;
    std::string where;  // each device once, with the first argument on it
    std::vector<int> named;
    for (const ArrayArg* b : arrays) {
      if (b == nullptr || b->device < 0 || std::find(named.begin(), named.end(), b->device) != named.end()) continue;
      named.push_back(b->device);
      where += fmt::format("{}{} on cuda:{}", where.empty() ? "" : ", ", b->name, b->device);
    }
    throw std::invalid_argument(fmt::format("all arrays must be on one device, got {}", where));
  }
  return placement;
}

template <typename T>
T* as(const ArrayArg& a) {
  return reinterpret_cast<T*>(a.ptr);
}

std::int32_t topk_of(std::int64_t topk) {
  if (topk < std::numeric_limits<std::int32_t>::min() || topk > std::numeric_limits<std::int32_t>::max()) {
    throw std::invalid_argument(fmt::format("nsa_index_topk = {} does not fit in int32", topk));
  }
  return static_cast<std::int32_t>(topk);
}

// Runs work in device's primary context after the stream waits for the producers.
template <typename Work>
auto in_context(int device, CUstream stream, const std::vector<CUstream>& producers, Work&& work) {
  PrimaryContextScope scope(device < 0 ? 0 : device);
  wait_for_producers(stream, producers);
  return work();
}

// The request's checks and arguments, without placing them on a device: check_fill places the four arrays,
// check_fill_async all seven at once.
DraftExtendArgs checked_request(const ArrayArg& ext, const ArrayArg& seq, std::int64_t topk,
                                const ArrayArg& out_expanded, const ArrayArg& out_cache) {
  check_array(ext, Access::Read);
  check_array(seq, Access::Read);
  check_array(out_expanded, Access::Write);
  check_array(out_cache, Access::Write);
  if (seq.length != ext.length) {
    throw std::invalid_argument(
        fmt::format("seq_lens has {} entries but extend_seq_lens has {}", seq.length, ext.length));
  }
  if (out_cache.length != out_expanded.length) {
    throw std::invalid_argument(fmt::format(
        "out_nsa_cache_seqlens has {} entries but out_seqlens_expanded has {}; both are the capacity",
        out_cache.length, out_expanded.length));
  }
  jit::check_bs(ext.length, "fill_draft_extend_metadata");
  return {as<const std::int32_t>(ext), as<const std::int32_t>(seq), ext.length, topk_of(topk),
          as<std::int32_t>(out_expanded), as<std::int32_t>(out_cache), out_expanded.length};
}

}  // namespace

FillCall check_fill(const ArrayArg& ext, const ArrayArg& seq, std::int64_t topk, const ArrayArg& out_expanded,
                    const ArrayArg& out_cache) {
  const DraftExtendArgs args = checked_request(ext, seq, topk, out_expanded, out_cache);
  Placement placement = place({&ext, &seq, &out_expanded, &out_cache});
  return {args, placement.device, std::move(placement.producers)};
}

FillAsyncCall check_fill_async(const ArrayArg& ext, const ArrayArg& seq, std::int64_t topk,
                               const ArrayArg& out_expanded, const ArrayArg& out_cache, const ArrayArg& total,
                               const ArrayArg& status, const std::optional<ArrayArg>& offsets) {
  const DraftExtendArgs args = checked_request(ext, seq, topk, out_expanded, out_cache);
  for (const ArrayArg* word : {&total, &status}) {
    check_array(*word, Access::Write);
    check_has_one(*word);
  }
  if (offsets) {
    check_array(*offsets, Access::Write);
    check_holds_offsets(*offsets, ext.length);
  }
  Placement placement = place({&ext, &seq, &out_expanded, &out_cache, &total, &status, offsets ? &*offsets : nullptr});
  return {{args, placement.device, std::move(placement.producers)},
          as<std::int32_t>(total),
          as<std::int32_t>(status),
          offsets ? as<std::int32_t>(*offsets) : nullptr};
}

OffsetsCall check_exclusive_offsets(const ArrayArg& lens, const ArrayArg& out, const std::optional<ArrayArg>& status) {
  check_array(lens, Access::Read);
  check_array(out, Access::Write);
  check_holds_offsets(out, lens.length);
  if (status) {
    check_array(*status, Access::Write);
    check_has_one(*status);
  }
  jit::check_bs(lens.length, "exclusive_offsets");
  Placement placement = place({&lens, &out, status ? &*status : nullptr});
  return {as<const std::int32_t>(lens), lens.length, as<std::int32_t>(out),
          status ? as<std::int32_t>(*status) : nullptr, placement.device, std::move(placement.producers)};
}

std::int32_t run(const FillCall& call, int device, CUstream stream) {
  return in_context(device, stream, call.producers,
                    [&] { return fill_draft_extend_metadata(call.args, stream); });
}

void run(const FillAsyncCall& call, int device, CUstream stream) {
  in_context(device, stream, call.fill.producers, [&] {
    fill_draft_extend_metadata_async(call.fill.args, stream, call.total, call.status, call.offsets);
  });
}

void run(const OffsetsCall& call, int device, CUstream stream) {
  in_context(device, stream, call.producers,
             [&] { exclusive_offsets(call.lens, call.bs, call.out, stream, call.status); });
}

}  // namespace draftjit::bindings
