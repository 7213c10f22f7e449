"""torch.ops.draftjit.*: the calls as PyTorch custom ops, with fake implementations and their mutated arguments
declared, so torch.compile(fullgraph=True) traces functions that call them and CUDA graph capture records them.
Imported by draftjit/__init__.py only when PyTorch is importable."""

from typing import Optional

import torch

import draftjit

_OUTPUTS = ("out_seqlens_expanded", "out_nsa_cache_seqlens")


@torch.library.custom_op("draftjit::fill_draft_extend_metadata", mutates_args=_OUTPUTS, device_types="cuda")
def fill_draft_extend_metadata(extend_seq_lens: torch.Tensor, seq_lens: torch.Tensor, nsa_index_topk: int,
                               out_seqlens_expanded: torch.Tensor, out_nsa_cache_seqlens: torch.Tensor) -> int:
    return draftjit.fill_draft_extend_metadata(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                                               out_nsa_cache_seqlens)


@fill_draft_extend_metadata.register_fake
def _(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded, out_nsa_cache_seqlens):
    # The total is data-dependent: an unbacked size no larger than the capacity.
    total = torch.library.get_ctx().new_dynamic_size(min=0, max=out_seqlens_expanded.shape[0])
    return total


@torch.library.custom_op("draftjit::fill_draft_extend_metadata_async",
                         mutates_args=(*_OUTPUTS, "total", "status", "offsets"), device_types="cuda")
def fill_draft_extend_metadata_async(extend_seq_lens: torch.Tensor, seq_lens: torch.Tensor, nsa_index_topk: int,
                                     out_seqlens_expanded: torch.Tensor, out_nsa_cache_seqlens: torch.Tensor,
                                     total: torch.Tensor, status: torch.Tensor,
                                     offsets: Optional[torch.Tensor] = None) -> None:
    draftjit.fill_draft_extend_metadata_async(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                                              out_nsa_cache_seqlens, total, status, offsets)


@fill_draft_extend_metadata_async.register_fake
def _(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded, out_nsa_cache_seqlens, total, status,
      offsets=None):
    return None


@torch.library.custom_op("draftjit::exclusive_offsets", mutates_args=("out", "status"), device_types="cuda")
def exclusive_offsets(lens: torch.Tensor, out: torch.Tensor, status: Optional[torch.Tensor] = None) -> None:
    draftjit.exclusive_offsets(lens, out, status=status)


@exclusive_offsets.register_fake
def _(lens, out, status=None):
    return None
