"""A drop-in for the SGLang fork's op, with its name and signature:

    sgl_kernel::fill_draft_extend_metadata_cuda_adaptive(Tensor extend_seq_lens, Tensor seq_lens,
        int nsa_index_topk, Tensor! out_seqlens_expanded, Tensor! out_nsa_cache_seqlens) -> Tensor

SGLang swaps one line:
    torch.ops.sgl_kernel.fill_draft_extend_metadata_cuda_adaptive.default(...)
becomes
    draftjit.sglang.fill_draft_extend_metadata_cuda_adaptive(...)
and keeps calling .item() on the result, which is a CPU tensor here: the one blocking read already happened.
Errors are RuntimeErrors, as from the fork's op."""

import torch

import draftjit  # noqa: F401  (registers torch.ops.draftjit)

fill_draft_extend_metadata_cuda_adaptive = torch.ops.draftjit.fill_draft_extend_metadata.default
