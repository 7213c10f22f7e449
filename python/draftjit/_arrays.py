"""Turns the caller's arrays into (pointer, length, device) after checking them, and finds the stream to run on.

PyTorch tensors take a fast path; anything else must offer ``__cuda_array_interface__`` (CuPy, Numba, ...). Every
check runs before anything is launched, and every error names the argument."""

import sys

from . import _draftjit


class DeviceArray:
    """A checked 1-D, contiguous int32 CUDA array."""

    __slots__ = ("ptr", "length", "device", "kind")

    def __init__(self, ptr, length, device, kind):
        self.ptr = ptr          # device address (0 when empty)
        self.length = length
        self.device = device    # CUDA device index, or None when empty and unknown
        self.kind = kind        # "torch" or "cai"


def _torch_module():
    return sys.modules.get("torch")


def as_device_array(obj, name, writable=False):
    torch = _torch_module()
    if torch is not None and isinstance(obj, torch.Tensor):
        return _from_tensor(torch, obj, name)
    cai = getattr(obj, "__cuda_array_interface__", None)
    if cai is None:
        raise TypeError(f"{name} must be a CUDA tensor or an object with __cuda_array_interface__, "
                        f"got {type(obj).__name__}")
    return _from_interface(obj, cai, name, writable)


def _from_tensor(torch, t, name):
    if t.dtype != torch.int32:
        raise TypeError(f"{name} must be int32, got {t.dtype}")
    shape = t.shape
    if len(shape) != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(shape)}")
    if not t.is_cuda:
        raise ValueError(f"{name} must be on a CUDA device, got {t.device}")
    if not t.is_contiguous():
        raise ValueError(f"{name} must be contiguous")
    return DeviceArray(t.data_ptr(), shape[0], t.get_device(), "torch")


def _from_interface(obj, cai, name, writable):
    typestr = cai.get("typestr")
    if typestr not in ("<i4", "|i4", "=i4"):
        raise TypeError(f"{name} must be int32 (typestr '<i4'), got typestr {typestr!r}")
    shape = tuple(cai.get("shape", ()))
    if len(shape) != 1:
        raise ValueError(f"{name} must be 1-D, got shape {shape}")
    strides = cai.get("strides")
    if strides is not None and shape[0] > 1 and tuple(strides) != (4,):
        raise ValueError(f"{name} must be contiguous, got strides {tuple(strides)}")
    ptr, readonly = cai["data"]
    if writable and readonly:
        raise ValueError(f"{name} is read-only but draftjit writes to it")
    device = getattr(getattr(obj, "device", None), "id", None)
    if device is None and ptr:
        device = _draftjit.device_of_pointer(ptr)
    return DeviceArray(ptr, shape[0], device, "cai")


def common_device(arrays, names):
    """The one device all non-empty arrays are on; the framework's current device when none says."""
    seen = {}
    for array, name in zip(arrays, names):
        if array is not None and array.device is not None:
            seen.setdefault(array.device, name)
    if len(seen) > 1:
        where = ", ".join(f"{name} on cuda:{device}" for device, name in seen.items())
        raise ValueError(f"all arrays must be on one device, got {where}")
    if seen:
        return next(iter(seen))
    torch = _torch_module()
    return torch.cuda.current_device() if torch is not None and torch.cuda.is_available() else 0


def stream_handle(stream, kind, device):
    """The CUstream to launch on: the given one, else the framework's current stream on device."""
    if stream is None:
        if kind == "torch":  # the raw handle: building a torch.cuda.Stream object costs microseconds
            return _torch_module()._C._cuda_getCurrentRawStream(device)
        cupy = sys.modules.get("cupy")
        if cupy is not None:
            with cupy.cuda.Device(device):
                return cupy.cuda.get_current_stream().ptr
        return 0
    if isinstance(stream, int):
        return stream
    for attribute in ("cuda_stream", "ptr"):  # torch.cuda.Stream, cupy.cuda.Stream
        handle = getattr(stream, attribute, None)
        if isinstance(handle, int):
            return handle
    raise TypeError(f"stream must be an int handle, a torch.cuda.Stream or a cupy.cuda.Stream, "
                    f"got {type(stream).__name__}")
