"""draftjit: JIT-specialised CUDA kernels for SGLang's NSA "draft extend" metadata.

For every token t of request b (offsets = exclusive prefix sum of extend_seq_lens):
    out_seqlens_expanded[t]  = seq_lens[b] - extend_seq_lens[b] + 1 + (t - offsets[b])
    out_nsa_cache_seqlens[t] = min(out_seqlens_expanded[t], nsa_index_topk)

Arrays are PyTorch tensors or anything with ``__cuda_array_interface__`` (CuPy, Numba): int32, 1-D, contiguous, on
one CUDA device; they are checked once, in C++. Torch tensors go through the torch.ops.draftjit operators (C++, on
torch's stable ABI; usable under torch.compile(fullgraph=True) and CUDA graph capture) on torch's current stream
of their device. Other arrays run on ``stream`` if given, else CuPy's current stream when CuPy is imported, else
the legacy default stream, after the producer stream each array names (interface v3 ``stream``). ``import draftjit``
works without PyTorch.

The whole DSA metadata step of upstream SGLang (decode, target verify, draft extend; torch tensors only) is
draftjit.sglang's fused_dsa_*_metadata, with upstream's signatures; prepare_dsa loads its kernels ahead of a capture.
"""

import atexit
import importlib.util
import logging
import operator
import os
import sys
import threading
import warnings

# Where pip puts NVIDIA's libraries (nvidia/cu13/lib, nvidia/cuda_nvrtc/lib): the C++ core looks there for NVRTC at
# its first compile, so a machine with only a driver and a torch wheel needs no CUDA toolkit. Set before the core
# loads; an explicit value is kept.
os.environ.setdefault("DRAFTJIT_PYTHON_SITE_PACKAGES", os.pathsep.join(
    path for path in sys.path if os.path.basename(path) in ("site-packages", "dist-packages")))

from ._errors import CompileError, Error, StatusError

try:
    import torch as _torch
except ImportError:
    _torch = None


def _load_core():
    """The C++ core: with torch importable, the module that also holds the torch operators, if it was built."""
    if _torch is not None and importlib.util.find_spec(f"{__name__}._draftjit_torch") is not None:
        try:
            from . import _draftjit_torch
            return _draftjit_torch
        except ImportError as error:  # e.g. a torch too old for the stable ABI calls it was built with
            warnings.warn(f"draftjit: the torch operators did not load ({error}); torch tensors take the slower "
                          f"__cuda_array_interface__ path", RuntimeWarning, stacklevel=3)
    from . import _draftjit
    return _draftjit


_core = _load_core()
__version__ = _core.version()
MAX_BS = _core.MAX_BS
MAX_FUSED_BS = _core.MAX_FUSED_BS
MAX_DSA_BS = _core.MAX_DSA_BS

# draftjit's events (DRAFTJIT_LOG picks which: error, warn (default), info, debug) go to this logger instead of
# stderr: a daemon thread logs them as they come, and the exit handler logs what is left. An explicit DRAFTJIT_LOG
# also sets the logger's level (where the application has not), so that its events are not dropped there; showing
# them is the application's logging configuration's job, as for any library.
logger = logging.getLogger("draftjit")
_LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
if os.environ.get("DRAFTJIT_LOG") in _LEVELS and logger.level == logging.NOTSET:
    logger.setLevel(_LEVELS[os.environ["DRAFTJIT_LOG"]])
_log_lock = threading.Lock()  # one batch at a time, so the exit handler waits for the one being logged


def _log_waiting_events():
    with _log_lock:
        for level, event, message in _core._take_log_events():
            logger.log(_LEVELS[level], "%s: %s", event, message, extra={"draftjit_event": event})


def _forward_log_events():
    while True:
        _core._wait_log_events()
        _log_waiting_events()


def _start_log_forwarding():
    threading.Thread(target=_forward_log_events, name="draftjit-log", daemon=True).start()


def _after_fork_in_child():
    global _log_lock
    _log_lock = threading.Lock()  # the parent's thread may have held it at the fork
    _start_log_forwarding()


_core._log_to_python()
_start_log_forwarding()
os.register_at_fork(after_in_child=_after_fork_in_child)


def _at_exit():
    # Before any C-level exit handler: compiles still running in daemon threads finish before NVRTC is torn down.
    _core._wait_for_compiles()
    _log_waiting_events()


atexit.register(_at_exit)

if hasattr(_core, "raise_op_error"):
    from . import _torch_fakes  # noqa: F401
    _Tensor = _torch.Tensor
    _fill_op = _torch.ops.draftjit.fill_draft_extend_metadata.default
    _fill_async_op = _torch.ops.draftjit.fill_draft_extend_metadata_async.default
    _offsets_op = _torch.ops.draftjit.exclusive_offsets.default
else:
    _Tensor = None

__all__ = [
    "CompileError", "Error", "StatusError", "MAX_BS", "MAX_DSA_BS", "MAX_FUSED_BS", "cache_dir", "cuda_available",
    "doctor", "emit", "exclusive_offsets", "fill_draft_extend_metadata", "fill_draft_extend_metadata_async", "freeze",
    "logger", "prepare", "prepare_dsa", "reset_stats", "stats", "warmup",
]


def _is_tensor(array):
    return _Tensor is not None and isinstance(array, _Tensor)


def _run_op(op, *args, stream=None):
    """Calls a torch operator, on stream when given, re-raising draftjit's typed error where the op threw one
    (PyTorch turns a C++ exception into its own: RuntimeError, or ValueError for argument errors in torch 2.11).
    Only the exception this thread's op kept, with the same message, is raised instead; anything else propagates."""
    try:
        if stream is None:
            return op(*args)
        with _torch.cuda.stream(_torch_stream(stream)):
            return op(*args)
    except (RuntimeError, ValueError, TypeError) as error:
        _core.raise_op_error(str(error))
        raise


def _torch_stream(stream):
    if isinstance(stream, _torch.cuda.Stream):
        return stream
    return _torch.cuda.ExternalStream(_stream_handle(stream))


def _stream_handle(stream):
    """The CUstream to run on as an int, or None for the default rule."""
    if stream is None or isinstance(stream, int):
        return stream
    for attribute in ("cuda_stream", "ptr"):  # torch.cuda.Stream, cupy.cuda.Stream
        handle = getattr(stream, attribute, None)
        if isinstance(handle, int):
            return handle
    raise TypeError(f"stream must be an int handle, a torch.cuda.Stream or a cupy.cuda.Stream, "
                    f"got {type(stream).__name__}")


def fill_draft_extend_metadata(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                               out_nsa_cache_seqlens, *, stream=None):
    """Fills both outputs and returns total_tokens, blocking until the GPU is done (the GIL is released meanwhile).
    The capacity is the outputs' length. Raises StatusError (with .status, .total_tokens, .capacity) for bad data
    or too small outputs, and then writes nothing."""
    topk = _int_argument(nsa_index_topk, "nsa_index_topk")
    if _is_tensor(extend_seq_lens):
        return _run_op(_fill_op, extend_seq_lens, seq_lens, topk, out_seqlens_expanded,
                       out_nsa_cache_seqlens, stream=stream).item()
    return _core.fill(extend_seq_lens, seq_lens, topk, out_seqlens_expanded, out_nsa_cache_seqlens,
                      _stream_handle(stream))


def fill_draft_extend_metadata_async(extend_seq_lens, seq_lens, nsa_index_topk, out_seqlens_expanded,
                                     out_nsa_cache_seqlens, total, status, offsets=None, *, stream=None):
    """The same work with no host synchronisation and no allocation, so it can be captured in a CUDA graph. Writes
    total_tokens to total[0] and draftjit's status bits to status[0]; the outputs are written only when the status
    is 0. offsets (bs + 1 entries) receives the exclusive offsets and is required when bs > MAX_FUSED_BS."""
    topk = _int_argument(nsa_index_topk, "nsa_index_topk")
    if _is_tensor(extend_seq_lens):
        _run_op(_fill_async_op, extend_seq_lens, seq_lens, topk, out_seqlens_expanded,
                out_nsa_cache_seqlens, total, status, offsets, stream=stream)
        return
    _core.fill_async(extend_seq_lens, seq_lens, topk, out_seqlens_expanded, out_nsa_cache_seqlens, total, status,
                     offsets, _stream_handle(stream))


def exclusive_offsets(lens, out=None, *, status=None, stream=None):
    """The specialised prefix sum alone: out[0] = 0, out[i + 1] = out[i] + lens[i] (bs + 1 entries), asynchronous.
    Allocates out (a tensor like lens) when it is None and lens is a tensor. status[0], when given, receives the
    status bits (negative length, int32 overflow). Returns out."""
    if _is_tensor(lens):
        if out is None:
            out = lens.new_empty(lens.numel() + 1)
        _run_op(_offsets_op, lens, out, status, stream=stream)
        return out
    if out is None:
        raise TypeError("exclusive_offsets allocates out only for a torch.Tensor lens; pass out")
    _core.exclusive_offsets(lens, out, status, _stream_handle(stream))
    return out


def _int_argument(value, name):
    """value as an int (anything with __index__), else TypeError naming the argument, before anything runs: through
    the torch operator a str would reach torch's schema check, whose error is a RuntimeError (issue 30)."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int: '{type(value).__name__}' object cannot be interpreted as an "
                        f"integer") from None


def _batch_sizes(value):
    """An int or an iterable of ints, as a list of ints."""
    if hasattr(value, "__iter__"):
        return [operator.index(bs) for bs in value]
    return [operator.index(value)]


def _current_device():
    if _torch is not None and _torch.cuda.is_available():
        return _torch.cuda.current_device()
    return 0


def prepare(batch_sizes=(), device=None, *, manifest=None):
    """Compiles (or loads from the caches) and loads on the device every kernel that calls with these batch sizes
    use, so that later calls and CUDA graph captures do no JIT work. batch_sizes: an int or an iterable of ints;
    device: an index or torch.device (default: the current device). manifest: a file that processes run with
    DRAFTJIT_RECORD=file wrote; its kernels recorded for the device's arch are loaded too (others are skipped), and
    prepare returns how many (None without a manifest)."""
    index = getattr(device, "index", device)
    loaded = _core.prepare(_batch_sizes(batch_sizes), _current_device() if index is None else operator.index(index),
                           None if manifest is None else os.fspath(manifest))
    return loaded if manifest is not None else None


def _is_int64(dtype, name):
    """True for int64, False for int32: a torch dtype or its name ("int64", "torch.int64")."""
    spelled = str(dtype).removeprefix("torch.")
    if spelled not in ("int32", "int64"):
        raise TypeError(f"{name} must be int32 or int64 (a torch dtype or its name), got {dtype!r}")
    return spelled == "int64"


def prepare_dsa(mode, batch_sizes, device=None, *, seq_lens_dtype="int32", req_pool_indices_dtype="int64",
                real_page_size=1, index_kpool=1, paged_mqa_ctx_lens_2d=False):
    """Compiles (or loads from the caches) and loads on the device the DSA metadata kernels that calls of mode
    ("dsa-decode", "dsa-verify" or "dsa-extend", as in `draftjit warmup --kind`) with these batch sizes launch, so
    that later calls and CUDA graph captures of them do no JIT work. The other arguments are what picks a kernel
    besides bs: the dtypes of seq_lens and req_pool_indices (torch dtypes or their names), whether real_page_size > 1
    and index_kpool > 1, and for dsa-verify whether paged_mqa_ctx_lens_2d is given. batch_sizes: an int or an
    iterable of ints, each in [0, MAX_DSA_BS]; device as for prepare."""
    index = getattr(device, "index", device)
    _core.prepare_dsa(mode, _batch_sizes(batch_sizes), _current_device() if index is None else operator.index(index),
                      _is_int64(seq_lens_dtype, "seq_lens_dtype"),
                      not _is_int64(req_pool_indices_dtype, "req_pool_indices_dtype"), real_page_size > 1,
                      (index_kpool or 0) > 1, bool(paged_mqa_ctx_lens_2d))


def warmup(batch_sizes, arch="sm_90", *, jobs=0):
    """Compiles into the disk cache every kernel these batch sizes use on arch (e.g. "sm_90", or a list of archs),
    in parallel like `draftjit warmup` (jobs threads; 0: one per core); needs no GPU. Returns {"kernels": n,
    "compiled": n, "cached": n, "not_stored": n}; not_stored counts kernels the disk cache could not take (the
    reasons were printed as warnings) or all of them when it is disabled. Raises draftjit.Error if any failed."""
    archs = [arch] if isinstance(arch, str) else list(arch)
    return _core.warmup(_batch_sizes(batch_sizes), archs, operator.index(jobs))


def emit(bs, kind="main", arch="sm_90", ptx=False):
    """The CUDA source rendered for bs (or its PTX for arch). kind: "main" (what a call uses), "fused", "scan" or
    "fill"."""
    return _core.emit(operator.index(bs), kind, arch, bool(ptx))


def cache_dir():
    """The directory this process's kernels are stored in, or None when the disk cache is disabled."""
    return _core.cache_dir()


def doctor():
    """One report of what a user needs when something is off: the NVRTC loaded and from where (and what else was
    searched), the driver and each GPU's arch, whether kernels are cubins or driver-finished PTX, the cache
    directories with their sizes, and the environment. Returns (text, ok); ok is False when a call would fail."""
    return _core.doctor()


def cuda_available():
    """True when a CUDA driver loads and reports a device."""
    return _core.cuda_available()


def stats():
    """Counters of this process's JIT work since it started or since reset_stats(), as a dict: memory_hits,
    disk_hits (and disk_hits_per_layer, indexed like `draftjit cache list`), compiles, compile_ms_total,
    compile_ms_max, module_loads, bytes_stored. Only cold-path events count; a warm call changes none."""
    return _core.stats()


def reset_stats():
    """Sets every counter of stats() to zero."""
    _core.reset_stats()


def freeze():
    """Marks the end of warm-up: from now on a compile raises draftjit.Error when DRAFTJIT_JIT=strict, and is
    logged as a warning when DRAFTJIT_JIT=warn (unset: allowed). Kernels compiled or on disk are unaffected."""
    _core.freeze()
