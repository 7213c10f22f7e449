// Issue 27: one description per op drives the front ends; the JIT core keys a kernel by what renders it alone.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>

#include "jit/nvrtc/codegen.hpp"
#include "jit/hash.hpp"
#include "jit/kernel_key.hpp"
#include "jit/nvrtc/templates.hpp"
#include "jit/version.hpp"
#include "ops/draft_extend/family.hpp"
#include "ops/op_description.hpp"
#include "ops/registry.hpp"

// The torch library instantiates one boxed kernel per entry of kOps, reading its size and entries at compile time
// (python/src/torch_ops.cpp, built only where torch is): the joined families' lists must allow that.
static_assert(draftjit::ops::kOps.size() == 18 && draftjit::ops::kOps[0] == &draftjit::ops::draft_extend::kFillOp &&
              draftjit::ops::kOps[3] == &draftjit::ops::dsa::kDecodeOp);

using namespace draftjit;

// The schemas the operators had when each was written by hand (python/src/torch_ops.cpp at accbfd0), with issue 29's
// changes to the DSA ops (page_table_1 optional, static_extend_len), and issue 28's three TRTLLM ops with upstream's
// keywords in their order (the page table's arguments, then bs), and the FA3 ops in upstream's order (the decode's
// pool as its mapping and stride, bs last), and EAGLE's raw kernels' positional arguments, their grid's sizes (bs)
// last: the descriptions must give exactly these.
TEST_CASE("issue27: the torch schemas made from the op descriptions are the hand-written ones") {
  const std::set<std::string> expected = {
      "fill_draft_extend_metadata(Tensor extend_seq_lens, Tensor seq_lens, int nsa_index_topk, "
      "Tensor(a!) out_seqlens_expanded, Tensor(b!) out_nsa_cache_seqlens) -> Tensor",
      "fill_draft_extend_metadata_async(Tensor extend_seq_lens, Tensor seq_lens, int nsa_index_topk, "
      "Tensor(a!) out_seqlens_expanded, Tensor(b!) out_nsa_cache_seqlens, Tensor(c!) total, Tensor(d!) status, "
      "Tensor(e!)? offsets) -> ()",
      "exclusive_offsets(Tensor lens, Tensor(a!) out, Tensor(b!)? status) -> ()",
      "dsa_decode_metadata(Tensor seq_lens, Tensor req_pool_indices, Tensor req_to_token, "
      "Tensor(a!) cache_seqlens, Tensor(b!) cu_seqlens_k, Tensor(c!)? page_table_1, Tensor(d!) dsa_cache_seqlens, "
      "Tensor(e!) dsa_cu_seqlens_k, Tensor(f!)? real_page_table, int bs, int max_len, int dsa_index_topk, "
      "int real_page_size, int index_kpool, Tensor(g!)? status) -> ()",
      "dsa_target_verify_metadata(Tensor seq_lens, Tensor req_pool_indices, Tensor req_to_token, "
      "Tensor(a!) cache_seqlens, Tensor(b!) cu_seqlens_k, Tensor(c!)? page_table_1, Tensor(d!) seqlens_expanded, "
      "Tensor(e!) dsa_cache_seqlens, Tensor(f!) dsa_cu_seqlens_k, Tensor(g!)? real_page_table, int bs, "
      "int max_seqlen_k, int dsa_index_topk, int real_page_size, int next_n, Tensor(h!)? paged_mqa_ctx_lens_2d, "
      "int index_kpool, Tensor(i!)? status) -> ()",
      "dsa_draft_extend_metadata(Tensor seq_lens, Tensor extend_seq_lens, Tensor req_pool_indices, "
      "Tensor req_to_token, Tensor(a!) cache_seqlens, Tensor(b!) cu_seqlens_k, Tensor(c!)? page_table_1, "
      "Tensor(d!) seqlens_expanded, Tensor(e!) dsa_cache_seqlens, Tensor(f!) dsa_cu_seqlens_k, "
      "Tensor(g!)? real_page_table, int bs, int total_len, int max_seqlen_k, int dsa_index_topk, "
      "int real_page_size, int static_extend_len, int index_kpool, Tensor(h!)? status) -> ()",
      "trtllm_mha_graph_metadata(Tensor req_pool_indices, Tensor seq_lens, Tensor req_to_token, "
      "Tensor(a!) cache_seqlens, Tensor(b!) cu_seqlens_k, Tensor(c!)? page_table, int bs, int seqlen_offset, "
      "int max_seq_pages, int page_size, Tensor? swa_mapping, Tensor(d!)? swa_page_table, Tensor? out_cache_loc, "
      "Tensor(e!)? swa_out_cache_loc, Tensor(f!)? cu_seqlens_q, Tensor? qlens, int q_stride, int q_mode, "
      "int skip_page_table) -> ()",
      "trtllm_mla_graph_metadata(Tensor req_pool_indices, Tensor seq_lens, Tensor req_to_token, "
      "Tensor(a!) block_kv_indices, int bs, int seqlen_offset, int page_size, Tensor(b!)? seq_lens_k) -> ()",
      "trtllm_mha_page_table(Tensor req_to_token, Tensor req_pool_indices, Tensor cache_seqlens, "
      "Tensor(a!) page_table, int page_size, Tensor(b!)? swa_page_table, Tensor? full_to_swa, int bs) -> ()",
      "fa3_decode_metadata(Tensor(a!) cache_seqlens_int32, Tensor(b!) cu_seqlens_k, Tensor(c!) page_table, "
      "Tensor req_to_token, Tensor req_pool_indices, int max_seq_pages, Tensor seq_lens, int seq_len_delta, "
      "int page_size, Tensor(d!)? swa_page_table, Tensor? swa_mapping, int swa_mapping_stride, "
      "int skip_page_table, int bs) -> ()",
      "fa3_draft_extend_metadata(Tensor(a!) cache_seqlens_int32, Tensor(b!) cu_seqlens_k, Tensor(c!) cu_seqlens_q, "
      "Tensor(d!) page_table, Tensor req_to_token, Tensor req_pool_indices, Tensor seq_lens, Tensor extend_seq_lens, "
      "int page_size, Tensor? full_to_swa_index_mapping, Tensor(e!)? swa_page_table, Tensor? out_cache_loc, "
      "Tensor(f!)? swa_out_cache_loc, int bs) -> ()",
      "fa3_swa_spec_page_table(Tensor(a!) page_table_dst, Tensor page_table_a, Tensor page_table_b, "
      "Tensor seq_len_a, Tensor seq_len_b, int speculative_num_draft_tokens, int bs) -> ()",
      "fa3_num_kv_splits(Tensor(a!) num_kv_splits, Tensor seq_lens, int bs, int num_group, int num_head, "
      "int num_kv_head, int max_kv_splits, int device_core_count, int lanes, Tensor(b!)? uneven_batch) -> ()",
      "assign_draft_cache_locs_contiguous(Tensor req_pool_indices, Tensor req_to_token, Tensor seq_lens, "
      "Tensor(a!) out_cache_loc, int pool_len, int topk, int speculative_num_steps, int bs) -> ()",
      "generate_draft_decode_kv_indices(Tensor req_pool_indices, Tensor req_to_token, Tensor paged_kernel_lens, "
      "Tensor(a!) kv_indices, Tensor(b!) kv_indptr, Tensor positions, int pool_len, int kv_indices_stride, "
      "int kv_indptr_stride, int bs_upper, int iter_upper, int num_tokens_upper, int page_size, "
      "int speculative_num_steps, int topk, int bs) -> ()",
      "flashinfer_kv_indices(Tensor req_to_token, Tensor req_pool_indices, Tensor page_kernel_lens, "
      "Tensor kv_indptr, Tensor? kv_start_idx, Tensor(a!) kv_indices, int entry_page_size, Tensor? token_mapping, "
      "int bs) -> ()",
      "flashmla_kv_indices(Tensor req_to_token, Tensor req_pool_indices, Tensor page_kernel_lens, "
      "Tensor? kv_start_idx, Tensor(a!) kv_indices, int page_size, int bs) -> ()",
      "chunked_prefix_kv_indices(Tensor req_to_token, Tensor req_pool_indices, Tensor chunk_start_idx, "
      "Tensor chunk_seq_lens, Tensor chunk_cu_seq_lens, Tensor(a!) chunk_kv_indices, int bs) -> ()",
  };
  std::set<std::string> made;
  for (const ops::OpDescription* op : ops::op_descriptions()) made.insert(ops::torch_schema(*op));
  CHECK(made == expected);
}

TEST_CASE("issue27: every argument is named once per op, and only tensors are optional or written") {
  for (const ops::OpDescription* op : ops::op_descriptions()) {
    CAPTURE(op->name);
    std::set<std::string> names;
    for (const ops::OpArg& arg : op->args) {
      CAPTURE(arg.name);
      CHECK(names.insert(arg.name).second);
      if (arg.type == ops::ArgType::Int) CHECK((!arg.optional && arg.role == ops::Role::In));
      CHECK((arg.rank == 1 || arg.rank == 2));
    }
  }
}

namespace {

// A bind_fields visitor (ops/api_op.hpp) that notes each name and whether its field is an array's or an Int's.
struct FieldNames {
  std::map<std::string, int> tensors;
  std::map<std::string, int> ints;
  template <class Field>
  void operator()(const char* name, Field&) {
    constexpr bool kInt = std::is_integral_v<Field> || std::is_enum_v<Field>;
    ++(kInt ? ints : tensors)[name];
  }
  std::int64_t row_capacity() const { return 0; }
};

}  // namespace

// The bindings fill an ApiOp's Args from bind_fields alone: it must name every argument of the description, once,
// as what it is (an array or an Int), and nothing else, or a field would stay unset or a name would throw at run time.
TEST_CASE("issue27: bind_fields names every argument of its op's description once, arrays as arrays") {
  std::apply(
      [](const auto&... api) {
        const auto check = [](const auto& op_of_api) {
          const ops::OpDescription& op = *op_of_api.op;
          CAPTURE(op.name);
          typename std::decay_t<decltype(op_of_api)>::ArgsType args{};
          FieldNames names;
          bind_fields(args, names);
          std::map<std::string, int> tensors;
          std::map<std::string, int> ints;
          for (const ops::OpArg& arg : op.args) ++(arg.type == ops::ArgType::Int ? ints : tensors)[arg.name];
          CHECK(names.tensors == tensors);
          CHECK(names.ints == ints);
        };
        (check(api), ...);
      },
      ops::kApiOps);
}

// The key names what renders the source and nothing else of the host code: editing a message, a CLI spelling or
// Tuning validation (none of which is a header or an instantiation) changes no key.
TEST_CASE("issue27: a kernel key is the headers' digest, the instantiation, the toolchain and the spec, no more") {
  const jit::KernelSpec spec = ops::draft_extend::fused_spec(5, Tuning{});
  jit::Toolchain toolchain;
  toolchain.arch = "sm_90";
  toolchain.nvrtc_version = "13.0";
  const jit::KernelKey key = jit::make_key(spec, toolchain);
  CHECK(key.text == fmt::format("draftjit {} | headers {} | instantiation {:016x} | nvrtc 13.0 | sm_90 | "
                                "fused_unrolled.bs5.t128 (spec {:x}) | ",
                                jit::kVersion, jit::templates_digest(), jit::hash_bytes(jit::render_instantiation(spec)),
                                spec.id()));
  std::size_t embedded_bytes = 0;
  for (const jit::EmbeddedTemplate& header : jit::embedded_templates()) {
    CHECK(header.file_name.ends_with(".cuh"));  // the digest covers kernel headers only
    embedded_bytes += header.text.size();
  }
  CHECK(embedded_bytes > 0);
}
