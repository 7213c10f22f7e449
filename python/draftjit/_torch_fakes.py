"""Fake implementations of the torch.ops.draftjit operators (defined and implemented in C++,
python/src/torch_ops.cpp), so torch.compile and FakeTensor tracing know their outputs. Imported by
draftjit/__init__.py once the operators are registered."""

import torch


@torch.library.register_fake("draftjit::fill_draft_extend_metadata")
def _(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded, out_nsa_cache_seqlens):
    return torch.empty((), dtype=torch.int32, device="cpu")  # total_tokens, a 0-dim CPU tensor like the real op's


@torch.library.register_fake("draftjit::fill_draft_extend_metadata_async")
def _(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded, out_nsa_cache_seqlens, total, status,
      offsets):
    return None


@torch.library.register_fake("draftjit::exclusive_offsets")
def _(lens, out, status):
    return None


# The DSA metadata step: every output is a caller-owned tensor the op writes in place (Tensor(a!) in its schema).
@torch.library.register_fake("draftjit::dsa_decode_metadata")
def _(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1, dsa_cache_seqlens,
      dsa_cu_seqlens_k, real_page_table, bs, max_len, dsa_index_topk, real_page_size, index_kpool, status):
    return None


@torch.library.register_fake("draftjit::dsa_target_verify_metadata")
def _(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1, seqlens_expanded,
      dsa_cache_seqlens, dsa_cu_seqlens_k, real_page_table, bs, max_seqlen_k, dsa_index_topk, real_page_size, next_n,
      paged_mqa_ctx_lens_2d, index_kpool, status):
    return None


@torch.library.register_fake("draftjit::dsa_draft_extend_metadata")
def _(seq_lens, extend_seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
      seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k, real_page_table, bs, total_len, max_seqlen_k,
      dsa_index_topk, real_page_size, index_kpool, status):
    return None
