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
