"""draftjit: JIT-specialised CUDA kernels for SGLang's NSA "draft extend" metadata.

For every token t of request b (offsets = exclusive prefix sum of extend_seq_lens):
    out_seqlens_expanded[t]  = seq_lens[b] - extend_seq_lens[b] + 1 + (t - offsets[b])
    out_nsa_cache_seqlens[t] = min(out_seqlens_expanded[t], nsa_index_topk)

Arrays are PyTorch tensors or anything with ``__cuda_array_interface__`` (CuPy): int32, 1-D, contiguous, on one
CUDA device. Calls run in that device's primary context, on ``stream`` or else the framework's current stream on
that device. With PyTorch installed, the calls are also ``torch.ops.draftjit.*`` custom ops (usable under
``torch.compile(fullgraph=True)`` and CUDA graph capture); ``import draftjit`` works without PyTorch.
"""

import operator

from . import _draftjit
from ._arrays import as_device_array, common_device, stream_handle
from ._errors import CompileError, Error, StatusError

__version__ = _draftjit.version()
MAX_BS = _draftjit.MAX_BS
MAX_FUSED_BS = _draftjit.MAX_FUSED_BS

__all__ = [
    "CompileError", "Error", "StatusError", "MAX_BS", "MAX_FUSED_BS", "cache_dir", "cuda_available", "emit",
    "exclusive_offsets", "fill_draft_extend_metadata", "fill_draft_extend_metadata_async", "prepare", "warmup",
]

_REQUEST_NAMES = ("extend_seq_lens", "seq_lens", "out_seqlens_expanded", "out_nsa_cache_seqlens")


def _topk(value):
    topk = operator.index(value)
    if not -2**31 <= topk < 2**31:
        raise ValueError(f"nsa_index_topk = {topk} does not fit in int32")
    return topk


def _batch_sizes(value):
    """An int or an iterable of ints, as a list of ints."""
    if hasattr(value, "__iter__"):
        return [operator.index(bs) for bs in value]
    return [operator.index(value)]


def _request_arrays(extend_seq_lens, seq_lens, out_seqlens_expanded, out_nsa_cache_seqlens):
    ext = as_device_array(extend_seq_lens, "extend_seq_lens")
    seq = as_device_array(seq_lens, "seq_lens")
    out_expanded = as_device_array(out_seqlens_expanded, "out_seqlens_expanded", writable=True)
    out_cache = as_device_array(out_nsa_cache_seqlens, "out_nsa_cache_seqlens", writable=True)
    if seq.length != ext.length:
        raise ValueError(f"seq_lens has {seq.length} entries but extend_seq_lens has {ext.length}")
    if out_cache.length != out_expanded.length:
        raise ValueError(f"out_nsa_cache_seqlens has {out_cache.length} entries but out_seqlens_expanded has "
                         f"{out_expanded.length}; both are the capacity")
    return ext, seq, out_expanded, out_cache


def fill_draft_extend_metadata(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                               out_nsa_cache_seqlens, *, stream=None):
    """Fills both outputs and returns total_tokens, blocking until the GPU is done (the GIL is released meanwhile).
    The capacity is the outputs' length. Raises StatusError (with .status, .total_tokens, .capacity) for bad data
    or too small outputs, and then writes nothing."""
    arrays = _request_arrays(extend_seq_lens, seq_lens, out_seqlens_expanded, out_nsa_cache_seqlens)
    ext, seq, out_expanded, out_cache = arrays
    device = common_device(arrays, _REQUEST_NAMES)
    return _draftjit.fill(ext.ptr, seq.ptr, ext.length, _topk(nsa_index_topk), out_expanded.ptr, out_cache.ptr,
                          out_expanded.length, stream_handle(stream, ext.kind, device), device)


def fill_draft_extend_metadata_async(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                                     out_nsa_cache_seqlens, total, status, offsets=None, *, stream=None):
    """The same work with no host synchronisation and no allocation, so it can be captured in a CUDA graph. Writes
    total_tokens to total[0] and draftjit's status bits to status[0]; the outputs are written only when the status
    is 0. offsets (bs + 1 entries) receives the exclusive offsets and is required when bs > MAX_FUSED_BS."""
    arrays = _request_arrays(extend_seq_lens, seq_lens, out_seqlens_expanded, out_nsa_cache_seqlens)
    ext, seq, out_expanded, out_cache = arrays
    words = [as_device_array(total, "total", writable=True), as_device_array(status, "status", writable=True)]
    for word, name in zip(words, ("total", "status")):
        if word.length < 1:
            raise ValueError(f"{name} must have at least one entry")
    offsets_array = None
    if offsets is not None:
        offsets_array = as_device_array(offsets, "offsets", writable=True)
        if offsets_array.length < ext.length + 1:
            raise ValueError(f"offsets needs bs + 1 = {ext.length + 1} entries, got {offsets_array.length}")
    device = common_device([*arrays, *words, offsets_array], [*_REQUEST_NAMES, "total", "status", "offsets"])
    _draftjit.fill_async(ext.ptr, seq.ptr, ext.length, _topk(nsa_index_topk), out_expanded.ptr, out_cache.ptr,
                         out_expanded.length, words[0].ptr, words[1].ptr,
                         offsets_array.ptr if offsets_array is not None else 0,
                         stream_handle(stream, ext.kind, device), device)


def exclusive_offsets(lens, out=None, *, status=None, stream=None):
    """The specialised prefix sum alone: out[0] = 0, out[i + 1] = out[i] + lens[i] (bs + 1 entries), asynchronous.
    Allocates out (a tensor like lens) when it is None and lens is a tensor. status[0], when given, receives the
    status bits (negative length, int32 overflow). Returns out."""
    lens_array = as_device_array(lens, "lens")
    if out is None:
        if lens_array.kind != "torch":
            raise TypeError("exclusive_offsets allocates out only for a torch.Tensor lens; pass out")
        out = lens.new_empty(lens_array.length + 1)
    out_array = as_device_array(out, "out", writable=True)
    if out_array.length < lens_array.length + 1:
        raise ValueError(f"out needs bs + 1 = {lens_array.length + 1} entries, got {out_array.length}")
    status_array = as_device_array(status, "status", writable=True) if status is not None else None
    device = common_device([lens_array, out_array, status_array], ["lens", "out", "status"])
    _draftjit.exclusive_offsets(lens_array.ptr, lens_array.length, out_array.ptr,
                                status_array.ptr if status_array is not None else 0,
                                stream_handle(stream, lens_array.kind, device), device)
    return out


def prepare(batch_sizes, device=None):
    """Compiles (or loads from the caches) and loads on the device every kernel that calls with these batch sizes
    use, so that later calls and CUDA graph captures do no JIT work. batch_sizes: an int or an iterable of ints;
    device: an index or torch.device (default: the current device)."""
    index = getattr(device, "index", device)
    _draftjit.prepare(_batch_sizes(batch_sizes), common_device([], []) if index is None else operator.index(index))


def warmup(batch_sizes, arch):
    """Compiles into the disk cache every kernel these batch sizes use on arch (e.g. "sm_90"); needs no GPU.
    Returns {"kernels": n, "compiled": n, "cached": n, "not_stored": n}; not_stored counts kernels the disk cache
    could not take (the reasons were printed as warnings) or all of them when it is disabled."""
    return _draftjit.warmup(_batch_sizes(batch_sizes), arch)


def emit(bs, kind="main", arch="sm_90", ptx=False):
    """The CUDA source rendered for bs (or its PTX for arch). kind: "main" (what a call uses), "fused", "scan" or
    "fill"."""
    return _draftjit.emit(operator.index(bs), kind, arch, bool(ptx))


def cache_dir():
    """The disk cache's directory, or None when it is disabled."""
    return _draftjit.cache_dir()


def cuda_available():
    """True when a CUDA driver loads and reports a device."""
    return _draftjit.cuda_available()


try:  # the torch.library ops switch on when PyTorch is importable
    import torch as _torch  # noqa: F401
except ImportError:
    pass
else:
    from . import _torch_ops  # noqa: F401
