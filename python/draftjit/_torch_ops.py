"""torch.ops.draftjit.*: the calls as PyTorch custom ops, with fake implementations and their mutated arguments
declared, so torch.compile(fullgraph=True) traces functions that call them and CUDA graph capture records them.
Optional mutated arguments (offsets, status) have no default and are passed explicitly, None included: PyTorch's
in-place bookkeeping indexes mutated arguments by position. Imported by draftjit/__init__.py only when PyTorch is
importable."""

from typing import Optional

import torch

import draftjit

_OUTPUTS = ("out_seqlens_expanded", "out_nsa_cache_seqlens")


# Returns total_tokens as a 0-dim int32 CPU tensor, like the fork's op (.item() reads it without a device sync):
# PyTorch cannot functionalize a mutating custom op that returns a plain int under torch.compile.
@torch.library.custom_op("draftjit::fill_draft_extend_metadata", mutates_args=_OUTPUTS, device_types="cuda")
def fill_draft_extend_metadata(extend_seq_lens: torch.Tensor, seq_lens: torch.Tensor, nsa_index_topk: int,
                               out_seqlens_expanded: torch.Tensor, out_nsa_cache_seqlens: torch.Tensor
                               ) -> torch.Tensor:
    return torch.tensor(draftjit.fill_draft_extend_metadata(extend_seq_lens, seq_lens, nsa_index_topk,
                                                            out_seqlens_expanded, out_nsa_cache_seqlens),
                        dtype=torch.int32)


@fill_draft_extend_metadata.register_fake
def _(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded, out_nsa_cache_seqlens):
    return torch.empty((), dtype=torch.int32)


@torch.library.custom_op("draftjit::fill_draft_extend_metadata_async",
                         mutates_args=(*_OUTPUTS, "total", "status", "offsets"), device_types="cuda")
def fill_draft_extend_metadata_async(extend_seq_lens: torch.Tensor, seq_lens: torch.Tensor, nsa_index_topk: int,
                                     out_seqlens_expanded: torch.Tensor, out_nsa_cache_seqlens: torch.Tensor,
                                     total: torch.Tensor, status: torch.Tensor, offsets: Optional[torch.Tensor]
                                     ) -> None:
    draftjit.fill_draft_extend_metadata_async(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                                              out_nsa_cache_seqlens, total, status, offsets)


@fill_draft_extend_metadata_async.register_fake
def _(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded, out_nsa_cache_seqlens, total, status,
      offsets):
    return None


@torch.library.custom_op("draftjit::exclusive_offsets", mutates_args=("out", "status"), device_types="cuda")
def exclusive_offsets(lens: torch.Tensor, out: torch.Tensor, status: Optional[torch.Tensor]) -> None:
    draftjit.exclusive_offsets(lens, out, status=status)


@exclusive_offsets.register_fake
def _(lens, out, status):
    return None
