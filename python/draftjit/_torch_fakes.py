"""Fake implementations of the torch.ops.draftjit operators (defined and implemented in C++,
python/src/torch_ops.cpp), so torch.compile and FakeTensor tracing know their outputs. Made from the op descriptions
(ops/op_description.hpp, read through the module): every output is a caller-owned tensor the op writes in place
(Tensor(a!) in its schema), so a fake returns nothing, or for an op returning "Tensor" the 0-dim CPU int32 count the
real op returns. Imported by draftjit/__init__.py once the operators are registered."""

import torch

from . import _core


def _fake_for(returns):
    if returns == "Tensor":
        return lambda *args: torch.empty((), dtype=torch.int32, device="cpu")
    if returns != "()":
        raise NotImplementedError(f"no fake for an op returning {returns}")
    return lambda *args: None


for _name, _schema, _returns, _args in _core.op_descriptions():
    torch.library.register_fake(f"draftjit::{_name}")(_fake_for(_returns))
