"""draftjit's exceptions. The C++ core raises these (python/src/module.cpp); argument errors are TypeError or
ValueError naming the argument."""


class Error(RuntimeError):
    """A driver call failed (the message names the call, the CUDA error and the kernel), no driver is present, or
    no CUDA context could be made current."""


class CompileError(Error):
    """NVRTC rejected a rendered kernel: ``key`` names the kernel, ``log`` is NVRTC's full program log."""

    def __init__(self, message, key="", log=""):
        super().__init__(message)
        self.key = key
        self.log = log


class StatusError(Error):
    """The device found bad data in a blocking call (``status`` holds draftjit's status bits); no output was
    written."""

    def __init__(self, message, status=0, total_tokens=0, capacity=0):
        super().__init__(message)
        self.status = status
        self.total_tokens = total_tokens
        self.capacity = capacity
