"""Drop-ins for SGLang's metadata kernels, with their names and signatures.

The fork's op:

    sgl_kernel::fill_draft_extend_metadata_cuda_adaptive(Tensor extend_seq_lens, Tensor seq_lens,
        int nsa_index_topk, Tensor! out_seqlens_expanded, Tensor! out_nsa_cache_seqlens) -> Tensor

SGLang swaps one line:
    torch.ops.sgl_kernel.fill_draft_extend_metadata_cuda_adaptive.default(...)
becomes
    draftjit.sglang.fill_draft_extend_metadata_cuda_adaptive(...)
and keeps calling .item() on the result, which is a CPU tensor here: the one blocking read already happened.
Errors are RuntimeErrors, as from the fork's op.

Upstream SGLang's whole DSA metadata step (sglang/kernels/ops/attention/dsa_kpool_metadata, formerly
layers/attention/triton_ops/dsa_metadata.py): fused_dsa_decode_metadata, fused_dsa_target_verify_metadata and
fused_dsa_draft_extend_metadata take upstream's arguments, in its order and with its defaults, plus a keyword-only
`status`: a 1-element int32 CUDA tensor that receives the bits of DsaStatus (include/draftjit/dsa.hpp: 1 negative
extend length, 2 pool index out of range, 4 int32 overflow, 8 total_len past the outputs' rows, 16 total_len !=
sum(extend_seq_lens), 32 negative seq_len), 0 when the outputs were written; with any bit set nothing else is
written. Each is one asynchronous launch of torch.ops.draftjit.dsa_*_metadata on torch's current
stream (graph-capturable: no allocation, no host synchronisation; draftjit.prepare_dsa loads the kernel ahead of a
capture). Unlike upstream they also launch for bs == 0 (and draft extend for total_len == 0), writing the same
entries upstream's early returns write. Arguments are checked in C++; errors name the argument and are PyTorch's
exceptions (ValueError with torch 2.11, RuntimeError before), as from any torch op.

Where upstream's arguments mean nothing to draftjit they are accepted and left unused: real_page_table when
real_page_size is 1 (upstream passes page_table_1 there), max_extend_len (draftjit needs no per-request bound) and
static_extend_len (a promise that every extend length is extend_seq_lens[0]; draftjit reads them all, which gives
the same result when the promise holds). bs may also be None: seq_lens.numel()."""

import torch

import draftjit  # noqa: F401  (registers torch.ops.draftjit)

fill_draft_extend_metadata_cuda_adaptive = torch.ops.draftjit.fill_draft_extend_metadata.default

_decode_op = torch.ops.draftjit.dsa_decode_metadata.default
_target_verify_op = torch.ops.draftjit.dsa_target_verify_metadata.default
_draft_extend_op = torch.ops.draftjit.dsa_draft_extend_metadata.default


def _real(real_page_table, real_page_size):
    """real_page_table as the op takes it: None when real_page_size is 1, where it is not written and upstream passes
    page_table_1 itself (two written arguments of one op must not alias)."""
    return real_page_table if real_page_size > 1 else None


def _bs(bs, seq_lens):
    return seq_lens.numel() if bs is None else bs


def _kpool(index_kpool):
    return 1 if index_kpool is None else index_kpool


def fused_dsa_decode_metadata(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
                              dsa_cache_seqlens, dsa_cu_seqlens_k, real_page_table, bs, max_len, dsa_index_topk,
                              real_page_size, index_kpool=1, *, status=None):
    """Decode: cache_seqlens = seq_lens, cu_seqlens_k its prefix, dsa_cache_seqlens = min(seq_lens, topk) (pooled
    when index_kpool > 1) and its prefix, page_table_1[b, :max_len] = req_to_token[req_pool_indices[b], :max_len],
    and real_page_table[b, j / P] = page_table_1[b, j] / P for j % P == 0 when real_page_size P > 1."""
    _decode_op(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
               dsa_cache_seqlens, dsa_cu_seqlens_k, _real(real_page_table, real_page_size), _bs(bs, seq_lens),
               max_len, dsa_index_topk, real_page_size, _kpool(index_kpool), status)


def fused_dsa_target_verify_metadata(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k,
                                     page_table_1, seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k,
                                     real_page_table, bs, max_seqlen_k, dsa_index_topk, real_page_size, next_n,
                                     paged_mqa_ctx_lens_2d=None, index_kpool=1, *, status=None):
    """Target verify: cache_seqlens = seq_lens + next_n and its prefix; for row r = b * next_n + d,
    seqlens_expanded[r] = seq_lens[b] + d + 1, dsa_cache_seqlens[r] from it and their prefix, page_table_1 (and
    real_page_table) rows from req_to_token[req_pool_indices[b]]; paged_mqa_ctx_lens_2d[b, d] = seq_lens[b] + next_n
    when given."""
    _target_verify_op(seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k, page_table_1,
                      seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k, _real(real_page_table, real_page_size),
                      _bs(bs, seq_lens), max_seqlen_k, dsa_index_topk, real_page_size, next_n, paged_mqa_ctx_lens_2d,
                      _kpool(index_kpool), status)


def fused_dsa_draft_extend_metadata(seq_lens, extend_seq_lens, req_pool_indices, req_to_token, cache_seqlens,
                                    cu_seqlens_k, page_table_1, seqlens_expanded, dsa_cache_seqlens,
                                    dsa_cu_seqlens_k, real_page_table, bs, total_len, max_seqlen_k, dsa_index_topk,
                                    real_page_size, max_extend_len, max_total_len, static_extend_len=False,
                                    index_kpool=1, *, status=None):
    """Draft extend: cache_seqlens = seq_lens and its prefix; token t of request b (the extend lengths' exclusive
    prefix puts it there, local = its place in the request): seqlens_expanded[t] = max(seq_lens[b] -
    extend_seq_lens[b] + 1 + local, 0), dsa_cache_seqlens[t] from it and their prefix (total_len + 1 entries),
    page_table_1 (and real_page_table) rows from req_to_token[req_pool_indices[b]]. Raises ValueError when total_len
    > max_total_len, as upstream asserts; a total_len the device's extend lengths do not sum to, or past the
    outputs' rows, is a status bit."""
    if total_len > max_total_len:
        raise ValueError(f"total_len = {total_len} exceeds max_total_len = {max_total_len}")
    _draft_extend_op(seq_lens, extend_seq_lens, req_pool_indices, req_to_token, cache_seqlens, cu_seqlens_k,
                     page_table_1, seqlens_expanded, dsa_cache_seqlens, dsa_cu_seqlens_k,
                     _real(real_page_table, real_page_size), _bs(bs, seq_lens), total_len, max_seqlen_k,
                     dsa_index_topk, real_page_size, _kpool(index_kpool), status)
