"""A drop-in for the SGLang fork's op, with its name and signature:

    sgl_kernel::fill_draft_extend_metadata_cuda_adaptive(Tensor extend_seq_lens, Tensor seq_lens,
        int nsa_index_topk, Tensor! out_seqlens_expanded, Tensor! out_nsa_cache_seqlens) -> Tensor

SGLang swaps one line:
    torch.ops.sgl_kernel.fill_draft_extend_metadata_cuda_adaptive.default(...)
becomes
    draftjit.sglang.fill_draft_extend_metadata_cuda_adaptive(...)
and keeps calling .item() on the result, which is a CPU tensor here: the one blocking read already happened."""

import torch

import draftjit


def fill_draft_extend_metadata_cuda_adaptive(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                                             out_nsa_cache_seqlens):
    total = draftjit.fill_draft_extend_metadata(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                                                out_nsa_cache_seqlens)
    return torch.tensor(total, dtype=torch.int32)
