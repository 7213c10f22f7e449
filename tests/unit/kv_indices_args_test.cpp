// Issue 28: the KV index builders' argument checks (FlashInfer's CSR kv_indices, FlashMLA's block table, the chunked
// prefix), which run on the host before anything touches a GPU, so they are tested here without one: each bad
// argument is a std::invalid_argument naming the call and the argument; arguments that pass reach the driver
// (draftjit::Error here, where there is none); bs 0, a table of no columns and an empty output launch nothing.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>

#include "draftjit/draftjit.hpp"
#include "draftjit/kv_indices.hpp"
#include "jit/kernel_spec.hpp"
#include "ops/kv_indices/family.hpp"
#include "ops/kv_indices/kv_indices_kernel.cuh"
#include "ops/kv_indices/ops.hpp"
#include "templates/kernel_params.cuh"
#include "test_support.hpp"

using namespace draftjit;
using draftjit::test::fake;

namespace {

// Valid arguments for bs 4 over a 6 x 128 table, every switch on: every test breaks one thing.
FlashinferKvIndicesArgs valid() {
  FlashinferKvIndicesArgs a;
  a.req_to_token = {fake(1), 6, 128, 128, 1};
  a.req_pool_indices = {fake(2), IndexType::Int32};
  a.page_kernel_lens = {fake(3), IndexType::Int64};
  a.kv_indptr = {fake(4), IndexType::Int32};
  a.kv_start_idx = {fake(5), IndexType::Int64};
  a.kv_indices = {fake<void>(6), IndexType::Int64, 1000};
  a.entry_page_size = 16;
  a.token_mapping = {fake<const std::int64_t>(7), 5000};
  a.bs = 4;
  return a;
}

void refused(const FlashinferKvIndicesArgs& a, const char* message) {
  CHECK_THROWS_WITH_AS(flashinfer_kv_indices(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: valid FlashInfer kv_indices arguments reach the driver, and what writes nothing launches nothing") {
  FlashinferKvIndicesArgs none = valid();
  none.bs = 0;  // upstream's empty grid; the per-request arrays may be null (an empty tensor's address)
  none.req_pool_indices.data = nullptr;
  none.page_kernel_lens.data = nullptr;
  none.kv_indptr.data = nullptr;
  CHECK_NOTHROW(flashinfer_kv_indices(none, nullptr));
  FlashinferKvIndicesArgs no_columns = valid();  // nothing can be read: nothing is written
  no_columns.req_to_token = {nullptr, 6, 0, 0, 1};
  CHECK_NOTHROW(flashinfer_kv_indices(no_columns, nullptr));
  FlashinferKvIndicesArgs empty = valid();  // nowhere to write
  empty.kv_indices = {nullptr, IndexType::Int32, 0};
  CHECK_NOTHROW(flashinfer_kv_indices(empty, nullptr));
  if (cuda_available()) return;  // on a GPU machine the rest would launch on fake pointers
  CHECK_THROWS_AS(flashinfer_kv_indices(valid(), nullptr), Error);
  FlashinferKvIndicesArgs plain = valid();  // no start, no mapping, E = 1, strided inputs, a transposed table
  plain.kv_start_idx = {};
  plain.token_mapping = {};
  plain.entry_page_size = 1;
  plain.req_pool_indices.stride = 3;
  plain.req_to_token = {fake(1), 6, 128, 1, 6};
  CHECK_THROWS_AS(flashinfer_kv_indices(plain, nullptr), Error);
}

TEST_CASE("issue28: each bad FlashInfer kv_indices argument is an invalid_argument naming the call and the argument") {
  FlashinferKvIndicesArgs a = valid();
  a.bs = kMaxKvIndicesBs + 1;
  a.entry_page_size = 0;  // bs first
  refused(a, "flashinfer_kv_indices: bs = 1048577 is outside the supported range [0, 1048576]");
  a = valid();
  a.bs = -1;
  refused(a, "bs = -1 is outside the supported range");
  for (const std::int32_t entry : {0, -16, (1 << 30) + 1, std::numeric_limits<std::int32_t>::min()}) {
    a = valid();
    a.entry_page_size = entry;
    refused(a, "entry_page_size");
  }
  a = valid();
  a.req_to_token.row_stride = -1;
  refused(a, "req_to_token has a negative size or stride");
  a = valid();
  a.req_to_token.rows = -1;
  refused(a, "req_to_token has a negative size or stride");
  a = valid();
  a.req_to_token.data = nullptr;
  refused(a, "req_to_token must be non-null");
  a = valid();
  a.page_kernel_lens.stride = -2;
  refused(a, "page_kernel_lens has a negative stride");
  a = valid();
  a.kv_start_idx.stride = -1;
  refused(a, "kv_start_idx has a negative stride");
  a = valid();
  a.req_pool_indices.data = nullptr;
  refused(a, "req_pool_indices must be non-null for bs = 4 > 0");
  a = valid();
  a.kv_indptr.data = nullptr;
  refused(a, "kv_indptr must be non-null");
  a = valid();
  a.kv_indptr.type = IndexType::Int64;
  refused(a, "kv_indptr must be int32");
  a = valid();
  a.kv_indices.data = nullptr;
  refused(a, "kv_indices must be non-null");
  a = valid();
  a.kv_indices.length = -1;
  refused(a, "kv_indices must be non-null");
  a = valid();
  a.token_mapping.length = -1;
  refused(a, "token_mapping has a negative length");
}

TEST_CASE("issue28: the kv-indices kernels refuse switch sets no call has") {
  namespace k = draftjit_kernels;
  const ops::OpDescription& op = ops::kv_indices::kFlashinferKvIndicesOp;
  CHECK_THROWS_WITH_AS(ops::kv_indices::spec_for(op, k::kKvStart64), doctest::Contains("start64 needs start"),
                       std::invalid_argument);
  CHECK_THROWS_AS(ops::kv_indices::spec_for(op, k::kKvFlagsEnd), std::invalid_argument);
  // one kernel per switch set: the spec names the flags, never a bs
  const jit::KernelSpec spec = ops::kv_indices::spec_for(op, k::kKvStart | k::kKvEntry | k::kKvOut64);
  CHECK(spec.name() == "flashinfer_kv_indices.t256.start.entry.out64");
  CHECK(spec.bs == 0);
}

namespace {

// Valid FlashMLA arguments for bs 4 over a 6 x 128 table into a 5 x 8 block table of pages of 16.
FlashmlaKvIndicesArgs valid_mla() {
  FlashmlaKvIndicesArgs a;
  a.req_to_token = {fake(1), 6, 128, 128, 1};
  a.req_pool_indices = {fake(2), IndexType::Int64};
  a.page_kernel_lens = {fake(3), IndexType::Int32};
  a.kv_start_idx = {fake(5), IndexType::Int32};
  a.kv_indices = {fake(6), 5, 8, 8, 1};
  a.page_size = 16;
  a.bs = 4;
  return a;
}

void refused_mla(const FlashmlaKvIndicesArgs& a, const char* message) {
  CHECK_THROWS_WITH_AS(flashmla_kv_indices(a, nullptr), doctest::Contains(message), std::invalid_argument);
}

}  // namespace

TEST_CASE("issue28: valid FlashMLA block-table arguments reach the driver, and what writes nothing launches nothing") {
  FlashmlaKvIndicesArgs none = valid_mla();
  none.bs = 0;
  none.req_pool_indices.data = nullptr;
  none.page_kernel_lens.data = nullptr;
  CHECK_NOTHROW(flashmla_kv_indices(none, nullptr));
  FlashmlaKvIndicesArgs no_pages = valid_mla();
  no_pages.kv_indices = {nullptr, 4, 0, 0, 1};
  CHECK_NOTHROW(flashmla_kv_indices(no_pages, nullptr));
  if (cuda_available()) return;
  CHECK_THROWS_AS(flashmla_kv_indices(valid_mla(), nullptr), Error);
  for (const std::int32_t page_size : {1, 2, 64, 4096}) {
    FlashmlaKvIndicesArgs a = valid_mla();
    a.page_size = page_size;
    a.kv_start_idx = {};
    CHECK_THROWS_AS(flashmla_kv_indices(a, nullptr), Error);
  }
}

TEST_CASE("issue28: each bad FlashMLA block-table argument is an invalid_argument naming the call and the argument") {
  FlashmlaKvIndicesArgs a = valid_mla();
  a.bs = kMaxKvIndicesBs + 1;
  a.page_size = 3;  // bs first
  refused_mla(a, "flashmla_kv_indices: bs = 1048577 is outside the supported range");
  for (const std::int32_t page_size : {0, 3, 48, 8192, -64}) {
    a = valid_mla();
    a.page_size = page_size;
    refused_mla(a, "page_size");
  }
  a = valid_mla();
  a.kv_indices.rows = 3;
  refused_mla(a, "kv_indices has 3 rows, fewer than bs = 4");
  a = valid_mla();
  a.kv_indices.col_stride = -1;
  refused_mla(a, "kv_indices has a negative size or stride");
  a = valid_mla();
  a.kv_indices.data = nullptr;
  refused_mla(a, "kv_indices must be non-null");
  a = valid_mla();
  a.page_kernel_lens.data = nullptr;
  refused_mla(a, "page_kernel_lens must be non-null");
  a = valid_mla();
  a.req_to_token.cols = -1;
  refused_mla(a, "req_to_token has a negative size or stride");
  namespace k = draftjit_kernels;
  CHECK_THROWS_WITH_AS(ops::kv_indices::spec_for(ops::kv_indices::kFlashmlaKvIndicesOp, k::kKvEntry),
                       doctest::Contains("flashmla has no entry switch"), std::invalid_argument);
  CHECK(ops::kv_indices::spec_for(ops::kv_indices::kFlashmlaKvIndicesOp, k::kKvStart | k::kKvLens64).name() ==
        "flashmla_kv_indices.t256.start.len64");
}

TEST_CASE("issue28: the chunked prefix's arguments are FlashInfer's under their own names") {
  ChunkedPrefixKvIndicesArgs a;
  a.req_to_token = {fake(1), 6, 128, 128, 1};
  a.req_pool_indices = {fake(2), IndexType::Int32};
  a.chunk_start_idx = {fake(3), IndexType::Int64};
  a.chunk_seq_lens = {fake(4), IndexType::Int32};
  a.chunk_cu_seq_lens = {fake(5), IndexType::Int32};
  a.chunk_kv_indices = {fake<void>(6), IndexType::Int32, 100};
  a.bs = 4;
  const auto refused_chunked = [](const ChunkedPrefixKvIndicesArgs& bad, const char* message) {
    CHECK_THROWS_WITH_AS(chunked_prefix_kv_indices(bad, nullptr), doctest::Contains(message), std::invalid_argument);
  };
  ChunkedPrefixKvIndicesArgs b = a;
  b.bs = -1;
  b.chunk_start_idx = {};  // bs first
  refused_chunked(b, "chunked_prefix_kv_indices: bs = -1 is outside the supported range");
  b = a;
  b.chunk_start_idx = {};
  refused_chunked(b, "chunk_start_idx must be non-null for bs = 4 > 0");
  b = a;
  b.chunk_seq_lens.stride = -1;
  refused_chunked(b, "chunk_seq_lens has a negative stride");
  b = a;
  b.chunk_cu_seq_lens.type = IndexType::Int64;
  refused_chunked(b, "chunk_cu_seq_lens must be int32");
  b = a;
  b.chunk_kv_indices.data = nullptr;
  refused_chunked(b, "chunk_kv_indices must be non-null");
  b = a;
  b.bs = 0;
  b.chunk_start_idx = {};
  CHECK_NOTHROW(chunked_prefix_kv_indices(b, nullptr));
  namespace k = draftjit_kernels;
  const ops::OpDescription& op = ops::kv_indices::kChunkedPrefixKvIndicesOp;
  CHECK_THROWS_WITH_AS(ops::kv_indices::spec_for(op, k::kKvLens64), doctest::Contains("every chunked-prefix kernel"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ops::kv_indices::spec_for(op, k::kKvStart | k::kKvMap), doctest::Contains("no map switch"),
                       std::invalid_argument);
  CHECK(ops::kv_indices::spec_for(op, k::kKvStart | k::kKvOut64).name() ==
        "chunked_prefix_kv_indices.t256.start.out64");
  if (cuda_available()) return;
  CHECK_THROWS_AS(chunked_prefix_kv_indices(a, nullptr), Error);
}
