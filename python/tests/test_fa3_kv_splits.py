"""The Triton backend's KV-split count (draftjit.sglang.get_num_kv_splits_triton, torch.ops.draftjit.fa3_num_kv_splits
and draftjit.fa3_num_kv_splits) against a NumPy reference written from docs/BACKENDS.md section 2c and upstream's
file, and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's files, against upstream's Triton kernel bit for bit. The
counts and the uneven flag are poisoned before each call and compared whole (entries past num_seq * num_group keep
their poison). The one float step, log2, is Triton's approximate one on both GPU sides; the reference computes it in
float32 and its data keep clear of the integer boundaries where an approximation could round the other way. Without
PyTorch or a CUDA device the GPU tests are skipped by name."""

import inspect
import zlib

import numpy as np
import pytest

import draftjit
import test_fa3
import test_trtllm_mha as trtllm
import upstream_fa3
from test_fa3 import MAX_BS, upstream  # noqa: F401  (upstream: the module fixture)
from test_trtllm_mha import HAVE_OPS, POISON, Interface, device_copy, first_difference, needs_gpu, needs_ops

try:
    import torch
except ImportError:
    torch = None

if HAVE_OPS:
    from draftjit import sglang

KIND = "fa3-kv-splits"
OP_NAME = "fa3_num_kv_splits"
ARGUMENTS = ["num_kv_splits_ptr", "seq_lens_ptr", "num_seq", "num_group", "num_head", "num_kv_head", "max_kv_splits",
             "device_core_count", "MAX_NUM_SEQ", "uneven_batch_ptr"]
P32 = POISON[np.dtype(np.int32)]


def wrap(value, dtype):
    """value modulo 2^bits of dtype, signed: upstream's arithmetic in a length's dtype."""
    bits = np.iinfo(dtype).bits
    return (int(value) + 2 ** (bits - 1)) % 2 ** bits - 2 ** (bits - 1)


def cdiv(a, b, dtype):
    """Triton's cdiv, (a + b - 1) // b with a wrapping add and a truncating division; None for b == 0."""
    if b == 0:
        return None
    top = wrap(a + b - 1, dtype)
    return wrap(abs(top) // abs(b) * (1 if (top >= 0) == (b > 0) else -1), dtype)


def cores_of(max_len, device_core_count):
    """int32(device_core_count * max(log2(float32(max_len) / 64), 1)) in float32, and how close the product is to an
    integer where an approximate log2 could truncate the other way (inf where the log2 is exact: clamped to 1, or of
    a power of two)."""
    ext = np.float32(max_len) / np.float32(64.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log2 = np.log2(ext, dtype=np.float32)
    product = np.float32(device_core_count) * np.float32(np.fmax(log2, np.float32(1.0)))
    exact = not log2 > 1 or float(log2).is_integer()
    return int(product), float("inf") if exact else abs(float(product) - round(float(product)))


def reference(lengths, num_group, num_head, num_kv_head, max_kv_splits, device_core_count, lanes, counts, uneven):
    """What one call writes into counts and uneven (host arrays; uneven may be None)."""
    dtype = lengths.dtype.type
    num_seq = len(lengths)
    hi = max([int(x) for x in lengths] + ([0] if lanes > num_seq else []))
    lo = min([int(x) for x in lengths] + [hi])
    if wrap(hi * 8, dtype) < wrap(lo * 10, dtype):
        lo = hi
    if uneven is not None:
        uneven[0] = int(lo < hi)
    splits_1 = cdiv(hi, lo, dtype)
    if splits_1 is None:
        return
    splits_1 = min(splits_1, max_kv_splits)
    chunk_1 = cdiv(hi, splits_1, dtype)
    cores, _ = cores_of(hi, device_core_count)
    group = num_head // num_kv_head
    per_seq = num_seq * num_group
    grid = wrap(per_seq * (num_head if group == 1 else cdiv(num_head, min(16, group), np.int32)), np.int32)
    splits_2 = cdiv(cores, grid, np.int32)
    if splits_2 is None:
        return
    chunk_2 = cdiv(hi, min(splits_2, max_kv_splits), dtype)
    if chunk_1 in (None, 0) or chunk_2 in (None, 0):
        return
    for s, length in enumerate(lengths):
        count = max(cdiv(int(length), chunk_1, dtype), cdiv(int(length), chunk_2, dtype))
        counts[s * num_group:(s + 1) * num_group] = wrap(count, np.int32)


def test_reference_on_a_worked_example():
    counts, uneven = np.full(6, P32, np.int32), np.full(1, P32, np.int32)
    # Mx 4096, Mn 1000 (10 Mn > 8 Mx? 10000 > 32768 no): splits_1 = cdiv(4096, 1000) = 5 -> min(5, 8), chunk 820;
    # cores = 132 * log2(64) = 792, grid = 3 * 2 * 32 / min(16, 4) = 48, splits_2 = cdiv(792, 48) = 17 -> 8, chunk 512.
    reference(np.array([4096, 1000, 2048], np.int32), 2, 32, 8, 8, 132, 256, counts, uneven)
    assert counts.tolist() == [8, 8, 2, 2, 4, 4] and uneven.tolist() == [1]


class SplitsCase:
    """One call's lengths on the GPU and its poisoned counts and flag, with upstream's scalars."""

    def __init__(self, num_seq, rng, *, num_group=1, num_head=32, num_kv_head=8, max_kv_splits=16, cores=132,
                 lanes=None, dtype=np.int32, uneven=True, low=1, high=70000, stride=1):
        self.num_seq, self.num_group, self.num_head, self.num_kv_head = num_seq, num_group, num_head, num_kv_head
        self.max_kv_splits, self.cores, self.dtype, self.stride = max_kv_splits, cores, dtype, stride
        self.lanes = lanes or (256 if num_seq < 256 else 1 << (num_seq - 1).bit_length())
        while True:  # lengths whose cores product keeps clear of an integer
            self.lengths = rng.integers(low, high, num_seq).astype(dtype)
            top = max([int(x) for x in self.lengths] + ([0] if self.lanes > num_seq else []))
            if cores_of(top, cores)[1] > 1e-3:
                break
        full = np.full(max(num_seq, 1) * stride, 5, dtype)  # gaps that would change Mn if read
        full[::stride][:num_seq] = self.lengths
        self.seq = device_copy(full, dtype)[::stride][:num_seq]
        self.counts = torch.full((num_seq * num_group + 3,), P32, dtype=torch.int32, device="cuda")
        self.uneven = torch.full((2,), P32, dtype=torch.int32, device="cuda") if uneven else None

    def args(self):
        return [self.counts, self.seq, self.num_seq, self.num_group, self.num_head, self.num_kv_head,
                self.max_kv_splits, self.cores, self.lanes, self.uneven]

    def call(self):
        sglang.get_num_kv_splits_triton[(1,)](*self.args()[:8], MAX_NUM_SEQ=self.lanes, uneven_batch_ptr=self.uneven)

    def check(self):
        counts = np.full(self.num_seq * self.num_group + 3, P32, np.int32)
        uneven = np.full(2, P32, np.int32) if self.uneven is not None else None
        reference(self.lengths, self.num_group, self.num_head, self.num_kv_head, self.max_kv_splits, self.cores,
                  self.lanes, counts, uneven)
        torch.cuda.synchronize()
        problems = [first_difference("num_kv_splits", self.counts.cpu().numpy(), counts)]
        if uneven is not None:
            problems.append(first_difference("uneven_batch", self.uneven.cpu().numpy(), uneven))
        problems = [p for p in problems if p]
        assert not problems, f"num_seq {self.num_seq} {np.dtype(self.dtype).name}: " + "; ".join(problems)


# --- GPU: results against the reference ---------------------------------------------------------------------

@needs_gpu
@pytest.mark.parametrize("dtype", [np.int32, np.int64], ids=["int32", "int64"])
@pytest.mark.parametrize("num_seq", [0, 1, 2, 31, 33, 255, 256, 257, 1000, 4096, MAX_BS])
def test_sizes_and_dtypes_match_the_reference(num_seq, dtype):
    rng = np.random.default_rng(num_seq * 3 + (dtype == np.int64))
    for num_group, num_head, num_kv_head in ((1, 32, 32), (2, 32, 8), (4, 64, 1), (1, 8, 8)):
        case = SplitsCase(num_seq, rng, num_group=num_group, num_head=num_head, num_kv_head=num_kv_head, dtype=dtype,
                          stride=1 + num_group % 2)
        case.call()
        case.check()


@needs_gpu
@pytest.mark.parametrize("low, high", [(1, 2), (1000, 1001), (800, 1000), (1, 1 << 30), (0, 3)])
def test_even_uneven_and_zero_lengths(low, high):
    """Equal lengths (uneven 0), lengths within 8:10 of each other (Mn becomes Mx), a wide spread, and zeros (upstream
    divides by zero: no count is written, the flag is)."""
    case = SplitsCase(300, np.random.default_rng(high), low=low, high=high, num_group=3)
    case.call()
    case.check()


@needs_gpu
def test_more_lanes_than_lengths_count_a_zero():
    """lanes > num_seq: upstream's masked lanes load 0 for the max, so all-negative lengths see Mx = 0."""
    case = SplitsCase(5, np.random.default_rng(9), low=-9, high=-1, lanes=8)
    case.call()
    case.check()


@needs_gpu
def test_graph_capture_and_new_lengths_compile_nothing():
    case = SplitsCase(64, np.random.default_rng(3))
    draftjit.prepare(64, kind=KIND)
    before = draftjit.stats()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        case.call()
    assert draftjit.stats() == before
    for seed in range(4):
        new = SplitsCase(64, np.random.default_rng(seed), num_group=1)
        case.seq.copy_(new.seq)
        case.lengths = new.lengths
        case.counts.fill_(P32)
        case.uneven.fill_(P32)
        graph.replay()
        case.check()
    for num_seq in (1, 700, 4096):
        SplitsCase(num_seq, np.random.default_rng(num_seq), num_group=2).call()
    assert draftjit.stats() == before


@needs_gpu
def test_opcheck_and_the_array_interface():
    case = SplitsCase(40, np.random.default_rng(2), num_group=2)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.args())
    case.counts.fill_(P32)
    case.uneven.fill_(P32)
    getattr(draftjit, OP_NAME)(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.args()])
    case.check()


@needs_gpu
@pytest.mark.parametrize("change, match", [
    (dict(MAX_NUM_SEQ=4), "MAX_NUM_SEQ|lanes"),
    (dict(num_kv_head=0), "num_kv_head"),
    (dict(num_head=4, num_kv_head=8), "num_head"),
    (dict(max_kv_splits=0), "max_kv_splits"),
    (dict(num_group=5), "num_kv_splits"),
])
def test_argument_errors_name_the_argument_and_write_nothing(change, match):
    case = SplitsCase(8, np.random.default_rng(1), num_group=1)
    named = dict(zip(ARGUMENTS, case.args()))
    named["MAX_NUM_SEQ"] = case.lanes
    named.update(change)
    with pytest.raises((TypeError, ValueError, RuntimeError), match=match):
        sglang.get_num_kv_splits_triton[(1,)](**named)
    torch.cuda.synchronize()
    assert bool((case.counts == P32).all()) and bool((case.uneven == P32).all())


# --- CPU --------------------------------------------------------------------------------------------------------

def test_the_op_description_and_the_kind():
    described = {name: arguments for name, _, _, arguments in draftjit._core.op_descriptions()}
    assert [argument[0] for argument in described[OP_NAME]] == [
        "num_kv_splits", "seq_lens", "bs", "num_group", "num_head", "num_kv_head", "max_kv_splits",
        "device_core_count", "lanes", "uneven_batch"]
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert kinds[KIND] == ["seq64"]
    source = draftjit.emit(1, kind=KIND, switches=["seq64"])
    assert "draftjit_kernels::fa3_kv_splits_kernel<256, 1>(p)" in source
    assert source == draftjit.emit(MAX_BS, kind=KIND, switches=["seq64"])


@needs_ops
def test_the_drop_in_takes_upstreams_arguments():
    parameters = inspect.signature(sglang._num_kv_splits).parameters
    assert list(parameters)[1:] == ARGUMENTS


def test_upstreams_file_has_the_arguments_tested_here():
    assert [name for name, _ in test_fa3.upstream_signature("get_num_kv_splits_triton")] == ARGUMENTS


# --- against upstream's own kernel -------------------------------------------------------------------------------

needs_upstream = trtllm.needs_upstream_of(upstream_fa3)
UPSTREAM_CASES = [  # (id, num_seq, SplitsCase options)
    ("bs1", 1, {}),
    ("bs7-group2", 7, dict(num_group=2)),
    ("bs64-mha", 64, dict(num_head=32, num_kv_head=32)),
    ("bs300-int64", 300, dict(dtype=np.int64, num_head=64, num_kv_head=4)),
    ("bs256-full-lanes", 256, dict(lanes=256)),
    ("bs1000-wide", 1000, dict(high=1 << 20, num_group=3)),
    ("bs5-equal", 5, dict(low=77, high=78)),
    ("bs0", 0, {}),
]


@needs_upstream
@pytest.mark.parametrize("num_seq, options", [case[1:] for case in UPSTREAM_CASES],
                         ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(upstream, num_seq, options):
    for draw in range(2):
        seed = zlib.crc32(f"{num_seq}|{sorted(options.items())}|{draw}".encode())
        theirs, mine = (SplitsCase(num_seq, np.random.default_rng(seed), **options) for _ in range(2))
        upstream.get_num_kv_splits_triton[(1,)](*theirs.args()[:8], MAX_NUM_SEQ=theirs.lanes,
                                                 uneven_batch_ptr=theirs.uneven)
        mine.call()
        torch.cuda.synchronize()
        for name in ("counts", "uneven"):
            problem = first_difference(f"{name} (draftjit vs upstream)", getattr(mine, name).cpu().numpy(),
                                       getattr(theirs, name).cpu().numpy())
            assert problem is None, f"draw {draw} (seed {seed}): {problem}"
        mine.check()
