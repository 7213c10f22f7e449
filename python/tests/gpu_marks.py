"""What the GPU tests need and the marks that skip them by name without it, defined once for every test file:
PyTorch (torch, or None), a CUDA device draftjit can use (HAVE_GPU), draftjit's torch operators (HAVE_OPS)."""

import pytest

import draftjit

try:
    import torch
except ImportError:
    torch = None

HAVE_OPS = torch is not None and hasattr(draftjit._core, "raise_op_error")
HAVE_GPU = torch is not None and torch.cuda.is_available() and draftjit.cuda_available()
needs_gpu = pytest.mark.skipif(not HAVE_GPU, reason="needs PyTorch and a CUDA device")
needs_ops = pytest.mark.skipif(not HAVE_OPS, reason="needs PyTorch and draftjit's torch operators")
