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
# The status words' bits by key, each family's from its one C++ table: {"negative_extend_len": 1, ...}.
STATUS_BITS = dict(_core.STATUS_BITS)          # fill_draft_extend_metadata_async, exclusive_offsets, StatusError
DSA_STATUS_BITS = dict(_core.DSA_STATUS_BITS)  # the dsa_*_metadata calls

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
    "CompileError", "DSA_STATUS_BITS", "Error", "MAX_BS", "MAX_DSA_BS", "MAX_FUSED_BS", "STATUS_BITS", "StatusError",
    "cache_dir", "cuda_available", "doctor", "emit", "exclusive_offsets", "fill_draft_extend_metadata",
    "fill_draft_extend_metadata_async", "freeze", "kinds", "logger", "prepare", "prepare_dsa", "reset_stats", "stats",
    "warmup",
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
    return _core.call_op("fill_draft_extend_metadata", [extend_seq_lens, seq_lens, topk,
                                                         out_seqlens_expanded, out_nsa_cache_seqlens],
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
    _core.call_op("fill_draft_extend_metadata_async", [extend_seq_lens, seq_lens, topk,
                                                       out_seqlens_expanded, out_nsa_cache_seqlens, total, status,
                                                       offsets], _stream_handle(stream))


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
    _core.call_op("exclusive_offsets", [lens, out, status], _stream_handle(stream))
    return out


def _int_argument(value, name):
    """value as an int (anything with __index__), else TypeError naming the argument, before anything runs: through
    the torch operator a str would reach torch's schema check, whose error is a RuntimeError (issue 30)."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int: '{type(value).__name__}' object cannot be interpreted as an "
                        f"integer") from None


def _op_function(name, arguments):
    """The Python function of an op that has no hand-written one (the DSA steps), made from its description: its
    arguments in the op's order, by position or keyword (an optional one defaults to None), and stream= as for the
    other calls. Torch tensors go through torch.ops.draftjit.<name>, other __cuda_array_interface__ arrays through
    the module; one launch, no sync, no allocation."""
    names = [argument for argument, _, _, _ in arguments]
    optional = {argument for argument, kind, _, _ in arguments if kind == "tensor?"}
    integers = {argument for argument, kind, _, _ in arguments if kind == "int"}
    torch_op = getattr(_torch.ops.draftjit, name).default if _Tensor is not None else None

    def call(*args, stream=None, **kwargs):
        if len(args) > len(names):
            raise TypeError(f"{name} takes {len(names)} arguments, got {len(args)}")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names or key in values:
                raise TypeError(f"{name} got an unexpected or repeated argument {key!r}")
            values[key] = value
        missing = [argument for argument in names if argument not in values and argument not in optional]
        if missing:
            raise TypeError(f"{name} is missing {', '.join(missing)}")
        ordered = [_int_argument(values[argument], argument) if argument in integers else values.get(argument)
                   for argument in names]
        if torch_op is not None and any(_is_tensor(value) for value in ordered):
            _run_op(torch_op, *ordered, stream=stream)
        else:
            _core.call_op(name, ordered, _stream_handle(stream))

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{name}({', '.join(names)}, *, stream=None): {_op_function.__doc__.split(':', 1)[1].strip()}"
    return call


for _name, _schema, _returns, _arguments in _core.op_descriptions():
    if _name not in globals():
        globals()[_name] = _op_function(_name, _arguments)
        __all__.append(_name)


def _batch_sizes(value):
    """An int or an iterable of ints, as a list of ints."""
    if hasattr(value, "__iter__"):
        return [operator.index(bs) for bs in value]
    return [operator.index(value)]


def _current_device():
    if _torch is not None and _torch.cuda.is_available():
        return _torch.cuda.current_device()
    return 0


def kinds():
    """The kinds of call prepare, warmup and emit take, as (name, summary, switches) tuples, from the op families'
    registry (ops/registry.cpp): "main" (draft extend), "fused", "scan" (exclusive_offsets), "fill", then each
    family's kinds; switches are the names of the kernel switches a kind takes besides bs (`draftjit warmup --help`
    lists the same)."""
    return [(name, summary, list(switches)) for name, summary, switches in _core.kinds()]


def _device_index(device):
    index = getattr(device, "index", device)
    return _current_device() if index is None else operator.index(index)


def prepare(batch_sizes=(), device=None, *, kind="main", switches=(), manifest=None):
    """Compiles (or loads from the caches) and loads on the device every kernel that calls of kind (see kinds();
    default "main", draft extend) with these batch sizes and switches use, so that later calls and CUDA graph
    captures do no JIT work. batch_sizes: an int or an iterable of ints; device: an index or torch.device (default:
    the current device). manifest: a file that processes run with DRAFTJIT_RECORD=file wrote; its kernels recorded
    for the device's arch are loaded too (others are skipped), and prepare returns how many (None without a
    manifest)."""
    loaded = _core.prepare(_batch_sizes(batch_sizes), _device_index(device), kind, _switches(switches),
                           None if manifest is None else os.fspath(manifest))
    return loaded if manifest is not None else None


def _switches(switches):
    if isinstance(switches, str):
        raise TypeError(f"switches must be an iterable of switch names, got the str {switches!r}")
    return [str(name) for name in switches]


def _is_int64(dtype, name):
    """True for int64, False for int32: a torch dtype or its name ("int64", "torch.int64")."""
    spelled = str(dtype).removeprefix("torch.")
    if spelled not in ("int32", "int64"):
        raise TypeError(f"{name} must be int32 or int64 (a torch dtype or its name), got {dtype!r}")
    return spelled == "int64"


def prepare_dsa(mode, batch_sizes, device=None, *, seq_lens_dtype="int32", req_pool_indices_dtype="int64",
                real_page_size=1, index_kpool=1, paged_mqa_ctx_lens_2d=False, extend_seq_lens_dtype="int32",
                static_extend_len=False, page_table_1=True):
    """prepare() for the DSA metadata kernels, with the switches spelled as the calls' arguments: mode is the kind
    ("dsa-decode", "dsa-verify" or "dsa-extend"); the dtypes of seq_lens and req_pool_indices (torch dtypes or their
    names), whether real_page_size > 1 and index_kpool > 1, whether page_table_1 is given (False: None, only with
    real_page_size > 1), for dsa-verify whether paged_mqa_ctx_lens_2d is given, and for dsa-extend the dtype of
    extend_seq_lens and static_extend_len pick the kernel besides bs. batch_sizes: an int or an iterable of ints, each
    in [0, MAX_DSA_BS]."""
    dsa_kinds = [name for name, _, switches in kinds() if "paged" in switches]  # the DSA family's switch
    if mode not in dsa_kinds:
        raise ValueError(f"mode must be one of {', '.join(dsa_kinds)}, not {mode!r}")
    extend = mode == "dsa-extend"
    switches = [name for name, on in (("seq64", _is_int64(seq_lens_dtype, "seq_lens_dtype")),
                                      ("pool32", not _is_int64(req_pool_indices_dtype, "req_pool_indices_dtype")),
                                      ("paged", real_page_size > 1), ("kpool", (index_kpool or 0) > 1),
                                      ("ctx2d", bool(paged_mqa_ctx_lens_2d)),
                                      ("ext64", extend and _is_int64(extend_seq_lens_dtype, "extend_seq_lens_dtype")),
                                      ("static", bool(static_extend_len)),
                                      ("realonly", not page_table_1)) if on]
    prepare(batch_sizes, device, kind=mode, switches=switches)


def warmup(batch_sizes, arch="sm_90", *, kind="main", switches=(), jobs=0):
    """Compiles into the disk cache every kernel calls of kind (see kinds()) with these batch sizes and switches use
    on arch (e.g. "sm_90", or a list of archs), in parallel like `draftjit warmup` (jobs threads; 0: one per core);
    needs no GPU. Returns {"kernels": n, "compiled": n, "cached": n, "not_stored": n}; not_stored counts kernels the
    disk cache could not take (the reasons were printed as warnings) or all of them when it is disabled. Raises
    draftjit.Error if any failed."""
    archs = [arch] if isinstance(arch, str) else list(arch)
    return _core.warmup(_batch_sizes(batch_sizes), archs, operator.index(jobs), kind, _switches(switches))


def emit(bs, kind="main", arch="sm_90", ptx=False, *, switches=()):
    """The CUDA source rendered for the main kernel of a kind call (see kinds()) with bs and these switches, or its
    PTX for arch."""
    return _core.emit(operator.index(bs), kind, arch, bool(ptx), _switches(switches))


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
