"""The chunked prefix's kv_indices (draftjit.sglang.create_chunked_prefix_cache_kv_indices[grid](...),
torch.ops.draftjit.chunked_prefix_kv_indices and draftjit.chunked_prefix_kv_indices): FlashInfer's CSR writer with a
start and ENTRY_PAGE_SIZE 1, so test_kv_indices.py's case and reference serve it, under upstream's argument names;
against upstream's own kernel where DRAFTJIT_UPSTREAM_SGLANG names its file. Covered: the 16 switch sets (the
starts', lengths' and pool indices' dtypes, int64 output), bs 0 to 65536, zero/negative/wrapping lengths, bad data
draftjit guards, graph capture, compile counts, opcheck, the pybind path, argument errors, upstream's signature."""

import inspect
import itertools
import re

import numpy as np
import pytest

import draftjit
import test_kv_indices as kv
import test_trtllm_mha as trtllm
import upstream_kv_indices
from test_cpu import FakeArray
from test_kv_indices import NO_DEFAULT, Switches
from test_trtllm_mha import Interface

from gpu_marks import HAVE_GPU, HAVE_OPS, needs_gpu, needs_ops, torch

if HAVE_OPS:
    from draftjit import sglang

KIND = "chunked-prefix"
OP_NAME = "chunked_prefix_kv_indices"
ARGUMENTS = [
    ("req_to_token_ptr", NO_DEFAULT), ("req_pool_indices_ptr", NO_DEFAULT), ("chunk_start_idx_ptr", NO_DEFAULT),
    ("chunk_seq_lens_ptr", NO_DEFAULT), ("chunk_cu_seq_lens_ptr", NO_DEFAULT), ("chunk_kv_indices_ptr", NO_DEFAULT),
    ("req_to_token_ptr_stride", NO_DEFAULT)]
NAMES = ["req_to_token", "req_pool_indices", "chunk_start_idx", "chunk_seq_lens", "chunk_cu_seq_lens",
         "chunk_kv_indices", "bs"]
ALL_SWITCHES = [Switches(start, len64, pool32, out64=out64) for start in ("32", "64")
                for len64, pool32, out64 in itertools.product((False, True), repeat=3)]
FULL = Switches("64", True, True, out64=True)


class ChunkedCase(kv.Case):
    """test_kv_indices.py's case, always with starts, E = 1 and no mapping, called through the chunked prefix's
    drop-in (grid (bs,), as upstream's callers launch it) or op."""

    def __init__(self, bs, rng, sw=Switches("32"), **options):
        assert sw.start and not sw.entry and not sw.map
        super().__init__(bs, rng, sw, **options)

    def grid(self):
        return (self.bs,)

    def launch_args(self, **overrides):
        named = dict(req_to_token_ptr=self.r2t, req_pool_indices_ptr=self.pool, chunk_start_idx_ptr=self.start,
                     chunk_seq_lens_ptr=self.lens, chunk_cu_seq_lens_ptr=self.indptr,
                     chunk_kv_indices_ptr=self.view(), req_to_token_ptr_stride=self.r2t.stride(0))
        named.update(overrides)
        return [named[name] for name, _ in ARGUMENTS], {}

    def call(self, grid=None, **overrides):
        if self.r2t.stride(1) != 1 and not overrides:
            getattr(torch.ops.draftjit, OP_NAME).default(*self.op_args())
            return
        args, _ = self.launch_args(**overrides)
        sglang.create_chunked_prefix_cache_kv_indices[grid or self.grid()](*args)

    def op_args(self, **overrides):
        named = dict(req_to_token=self.r2t, req_pool_indices=self.pool, chunk_start_idx=self.start,
                     chunk_seq_lens=self.lens, chunk_cu_seq_lens=self.indptr, chunk_kv_indices=self.view(),
                     bs=self.bs)
        named.update(overrides)
        return tuple(named[name] for name in NAMES)

    def prepare(self):
        draftjit.prepare([self.bs], kind=KIND, switches=[n for n in self.sw.names() if n != "start"])


@needs_gpu
@pytest.mark.parametrize("sw", ALL_SWITCHES, ids=Switches.id)
def test_every_switch_set_matches_the_reference(sw):
    index = ALL_SWITCHES.index(sw)
    for bs in (7, 45):
        trtllm.run_twice(ChunkedCase(bs, np.random.default_rng(index * 10 + bs), sw, r2t_layout=kv.LAYOUTS[index % 3],
                                     stride=1 + index % 3))


@needs_gpu
@pytest.mark.parametrize("bs", kv.BATCH_SIZES)
def test_batch_sizes_match_the_reference(bs):
    trtllm.run_twice(ChunkedCase(bs, np.random.default_rng(bs), ALL_SWITCHES[bs % len(ALL_SWITCHES)],
                                 width=64 if bs > 1000 else 300, lengths="short" if bs > 1000 else "mixed"))


@needs_gpu
@pytest.mark.parametrize("lengths, bad", [("negative", ()), ("wrap", ()), ("long", ()), ("mixed", ("pool", "past")),
                                          ("mixed", ("offset",))], ids=str)
def test_odd_lengths_and_bad_data(lengths, bad):
    trtllm.run_twice(ChunkedCase(40, np.random.default_rng(5), FULL, lengths=lengths, bad=bad))


@needs_gpu
@pytest.mark.parametrize("bs", [0, 5, 64])
def test_graph_capture_compile_counts_opcheck_and_the_pybind_path(bs):
    case = ChunkedCase(bs, np.random.default_rng(bs + 29), FULL, r2t_layout="sliced", stride=2)
    trtllm.capture_and_replay(case, launches=bs > 0, check=case.check if bs > 0 else case.check_untouched)
    rng = np.random.default_rng(bs)
    kv.check_warm_calls(ChunkedCase(3, rng, FULL),
                        (ChunkedCase(b, rng, FULL, width=w) for b, w in ((1, 7), (300, 5000))))
    case = ChunkedCase(5, np.random.default_rng(2), FULL)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())
    call = getattr(draftjit, OP_NAME)
    case = ChunkedCase(70, np.random.default_rng(79), FULL, r2t_layout="transposed", stride=3)
    trtllm.run_twice(case, lambda: call(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]))


@needs_gpu
@pytest.mark.parametrize("change, name", [
    (lambda c: {"chunk_cu_seq_lens": c.indptr.long()}, "chunk_cu_seq_lens"),
    (lambda c: {"chunk_kv_indices": c.view().to(torch.int16)}, "chunk_kv_indices"),
    (lambda c: {"chunk_seq_lens": c.lens[:c.bs - 1]}, "chunk_seq_lens"),
    (lambda c: {"bs": -1}, "bs = -1"),
])
def test_argument_errors_name_the_argument_and_write_nothing(change, name):
    kv.check_argument_error(ChunkedCase(5, np.random.default_rng(1), FULL), OP_NAME, change, name)


@needs_gpu
def test_a_missing_start_is_named_by_the_drop_in():
    """None for a tensor the op requires: torch's own refusal names nothing, the drop-in's names it."""
    case = ChunkedCase(5, np.random.default_rng(1), FULL)
    with pytest.raises(TypeError, match="chunk_start_idx must be a tensor, not None"):
        case.call(chunk_start_idx_ptr=None)
    case.check_untouched()


def test_the_op_description_and_the_kind():
    kv.check_description(OP_NAME, NAMES, "chunk_kv_indices")
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert kinds[KIND] == ["start64", "len64", "pool32", "out64"]
    source = draftjit.emit(1, kind=KIND)
    assert source == draftjit.emit(kv.MAX_BS, kind=KIND)
    assert "flashinfer_kv_indices_kernel<256, 1>(p)" in source  # FlashInfer's kernel, always with starts
    with pytest.raises(ValueError):
        draftjit.emit(1, kind=KIND, switches=["map"])


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    parameters = list(inspect.signature(sglang._chunked_prefix_kv_indices).parameters.values())[1:]  # the grid
    assert [(p.name, p.default) for p in parameters] == ARGUMENTS


def test_upstreams_file_has_the_signature_tested_here():
    import ast
    _, tree = kv.upstream_tree()
    kernel = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                  and node.name == "create_chunked_prefix_cache_kv_indices")
    assert [(arg.arg, NO_DEFAULT) for arg in kernel.args.args] == ARGUMENTS and not kernel.args.defaults


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_arguments_are_checked_before_the_driver():
    def fake_call(**overrides):
        args = dict(req_to_token=FakeArray(0, shape=(6, 128)), req_pool_indices=FakeArray(4, "<i8"),
                    chunk_start_idx=FakeArray(4), chunk_seq_lens=FakeArray(4), chunk_cu_seq_lens=FakeArray(5),
                    chunk_kv_indices=FakeArray(100), bs=4)
        args.update(overrides)
        return getattr(draftjit, OP_NAME)(**args)

    with pytest.raises(draftjit.Error, match="no CUDA driver found"):
        fake_call()
    for overrides, name in (({"chunk_start_idx": None}, "chunk_start_idx"),
                            ({"chunk_cu_seq_lens": FakeArray(5, "<i8")}, "chunk_cu_seq_lens"),
                            ({"chunk_kv_indices": FakeArray(0, shape=(4, 8))}, "chunk_kv_indices"),
                            ({"bs": kv.MAX_BS + 1}, re.escape(f"bs = {kv.MAX_BS + 1}"))):
        with pytest.raises((TypeError, ValueError), match=name):
            fake_call(**overrides)


UPSTREAM_CASES = [(f"bs{bs}-{sw.id()}-{lengths}", bs, sw, dict(lengths=lengths))
                  for bs, sw, lengths in ((1, Switches("32"), "mixed"), (9, FULL, "mixed"),
                                          (33, ALL_SWITCHES[5], "long"), (257, ALL_SWITCHES[10], "short"),
                                          (20, Switches("32"), "negative"), (20, Switches("64", len64=True), "wrap"))]


@pytest.fixture(scope="module")
def upstream():
    return upstream_kv_indices.load()


@trtllm.needs_upstream_of(upstream_kv_indices)
@pytest.mark.parametrize("bs, sw, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(upstream, bs, sw, options):
    def call_upstream(case):
        args, _ = case.launch_args()
        upstream.create_chunked_prefix_cache_kv_indices[case.grid()](*args)

    trtllm.compare_twins(lambda seed: ChunkedCase(bs, np.random.default_rng(seed), sw, **options), call_upstream,
                         f"{bs}|{sw.id()}|{sorted(options.items())}")
