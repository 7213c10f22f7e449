"""FA3's SWA speculative page table (draftjit.sglang.prepare_swa_spec_page_table_triton, torch.ops.draftjit.
fa3_swa_spec_page_table and draftjit.fa3_swa_spec_page_table) against a NumPy reference written from docs/BACKENDS.md
section 2d and upstream's file, and, where DRAFTJIT_UPSTREAM_SGLANG names upstream's files, against upstream's Triton
kernel bit for bit. page_table_dst is poisoned before each call and compared whole: rows past bs * draft tokens, and
columns past a row's summed length or upstream's grid, keep their poison. Without PyTorch or a CUDA device the GPU
tests are skipped by name."""

import inspect
import zlib

import numpy as np
import pytest

import draftjit
import test_fa3
import test_trtllm_mha as trtllm
import upstream_fa3
from test_fa3 import MAX_BS, upstream  # noqa: F401  (upstream: the module fixture)
from test_trtllm_mha import (HAVE_OPS, POISON, Interface, device_copy, first_difference, needs_gpu, needs_ops,
                             run_twice)

try:
    import torch
except ImportError:
    torch = None

if HAVE_OPS:
    from draftjit import sglang

KIND = "fa3-swa-spec"
OP_NAME = "fa3_swa_spec_page_table"
UPSTREAM_BLOCK = upstream_fa3.SPEC_BLOCK
ARGUMENTS = ["page_table_dst", "page_table_a", "page_table_b", "seq_len_a", "seq_len_b",
             "speculative_num_draft_tokens"]
I32 = np.iinfo(np.int32)


def reference(dst, a, b, seq_len_a, seq_len_b, draft_tokens):
    """What one call writes into dst (a host array): row m < len(seq_len_b) over the columns n below A + B (A =
    seq_len_a[m // draft_tokens], B = seq_len_b[m], summed in int32 with wrap-around when both are int32), upstream's
    grid (LEN_A + LEN_B rounded up to 256) and dst's width: a[m // D, n] for n < A (0 past a's columns), else
    b[m, n - A] (0 past b's columns)."""
    cover = min(-(-(a.shape[1] + b.shape[1]) // UPSTREAM_BLOCK) * UPSTREAM_BLOCK, dst.shape[1])
    wrap = seq_len_a.dtype == np.int32 and seq_len_b.dtype == np.int32
    for m in range(len(seq_len_b)):
        r = m // draft_tokens
        first, total = int(seq_len_a[r]), int(seq_len_a[r]) + int(seq_len_b[m])
        if wrap:
            total = (total - I32.min) % 2**32 + I32.min
        for n in range(max(0, min(total, cover))):
            if n < first:
                dst[m, n] = a[r, n] if n < a.shape[1] else 0
            else:
                dst[m, n] = b[m, n - first] if n - first < b.shape[1] else 0


def test_reference_on_a_worked_example():
    a = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    b = np.arange(10, 10 + 4 * 2, dtype=np.int32).reshape(4, 2)  # rows 10 11, 12 13, 14 15, 16 17
    dst = np.full((5, 300), 9, np.int32)
    reference(dst, a, b, np.array([2, 4], np.int32), np.array([1, 2, 0, 5], np.int32), 2)
    assert dst[0, :4].tolist() == [1, 2, 10, 9]
    assert dst[1, :5].tolist() == [1, 2, 12, 13, 9]
    assert dst[2, :5].tolist() == [4, 5, 6, 0, 9]  # 4 columns of a's row: the fourth is past a's 3
    assert dst[3, :10].tolist() == [4, 5, 6, 0, 16, 17, 0, 0, 0, 9]
    assert (dst[4] == 9).all() and (dst[:, 256:] == 9).all()


class SpecCase:
    """One call's inputs and poisoned page_table_dst on the GPU, with host copies for the reference. bs requests of
    draft_tokens rows each; a_cols, b_cols the two sources' widths; dst gets dst_cols columns (default: upstream's
    grid, the sources' widths summed) and 2 rows more than it needs; lengths "mixed" (short, long, past the widths,
    zero and negative) or "short"; the sources and dst are column-sliced views when sliced; the lengths take stride
    `stride`."""

    def __init__(self, bs, rng, *, draft_tokens=3, a_cols=300, b_cols=40, dst_cols=None, dtypes=(np.int32, np.int32),
                 lengths="mixed", sliced=False, stride=1):
        self.bs, self.rng, self.D, self.dtypes, self.lengths, self.stride = bs, rng, draft_tokens, dtypes, lengths, \
            stride
        self.rows = bs * draft_tokens
        self.a_h = rng.integers(-5, 1 << 20, (bs, a_cols), dtype=np.int32)
        self.b_h = rng.integers(-5, 1 << 20, (self.rows, b_cols), dtype=np.int32)
        self.dst_cols = a_cols + b_cols if dst_cols is None else dst_cols
        pad = 5 if sliced else 0
        self.a = torch.from_numpy(np.pad(self.a_h, ((0, 1), (0, pad)))).cuda()[:bs, :a_cols]
        self.b = torch.from_numpy(np.pad(self.b_h, ((0, 1), (0, pad)))).cuda()[:self.rows, :b_cols]
        self.dst_base = torch.empty((self.rows + 2, self.dst_cols + pad), dtype=torch.int32, device="cuda")
        self.dst = self.dst_base[:, :self.dst_cols]
        self.new_values()
        self.upload()
        self.poison()

    def new_values(self):
        a_cols, b_cols = self.a_h.shape[1], self.b_h.shape[1]
        if self.lengths == "short":
            self.len_a_h = self.rng.integers(0, 40, self.bs)
            self.len_b_h = self.rng.integers(0, 8, self.rows)
        else:
            self.len_a_h = self.rng.choice([0, 1, a_cols - 1, a_cols, a_cols + 7, -3, 255, 256, 257], self.bs)
            self.len_b_h = self.rng.choice([0, 1, b_cols, b_cols + 300, -2, 7, 1000], self.rows)

    def upload(self):
        """The host lengths into the device arrays, in place once they exist (a captured graph reads those)."""
        def strided(host, dtype):  # every stride-th entry, the gaps holding lengths that would change the result
            full = np.full(max(len(host), 1) * self.stride, 77, dtype)
            full[::self.stride][:len(host)] = host
            return device_copy(full, dtype)[::self.stride][:len(host)]
        for name, host, dtype in (("len_a", self.len_a_h, self.dtypes[0]), ("len_b", self.len_b_h, self.dtypes[1])):
            if hasattr(self, name):
                getattr(self, name).copy_(device_copy(host, dtype))
            else:
                setattr(self, name, strided(host, dtype))

    def poison(self):
        self.dst_base.fill_(POISON[np.dtype(np.int32)])

    def args(self):
        return [self.dst, self.a, self.b, self.len_a, self.len_b, self.D]

    def op_args(self):
        return self.args() + [self.bs]

    def call(self, **changes):
        named = dict(zip(ARGUMENTS, self.args()), **changes)
        sglang.prepare_swa_spec_page_table_triton(**named)

    def prepare(self):
        draftjit.prepare(self.bs, kind=KIND, switches=self.switches())

    def switches(self):
        return [name for name, dtype in zip(("a64", "b64"), self.dtypes) if dtype == np.int64]

    def expected(self):
        want = np.full(tuple(self.dst_base.shape), POISON[np.dtype(np.int32)], np.int32)
        reference(want[:, :self.dst_cols], self.a_h, self.b_h, self.len_a_h.astype(self.dtypes[0]),
                  self.len_b_h.astype(self.dtypes[1]), max(self.D, 1))
        return want

    def check(self):
        problem = first_difference("page_table_dst", self.dst_base.cpu().numpy(), self.expected())
        assert problem is None, f"bs {self.bs} D {self.D} {self.dtypes}: {problem}"

    def check_untouched(self):
        assert bool((self.dst_base == POISON[np.dtype(np.int32)]).all())


# --- GPU: results against the reference ---------------------------------------------------------------------

DTYPES = [(np.int32, np.int32), (np.int64, np.int32), (np.int32, np.int64), (np.int64, np.int64)]


@needs_gpu
@pytest.mark.parametrize("dtypes", DTYPES, ids=lambda d: f"{np.dtype(d[0]).name}-{np.dtype(d[1]).name}")
@pytest.mark.parametrize("bs", [1, 2, 31, 33, 256, 1000])
def test_batch_sizes_and_dtypes_match_the_reference(bs, dtypes):
    index = DTYPES.index(dtypes)
    case = SpecCase(bs, np.random.default_rng(bs * 7 + index), draft_tokens=(1, 3, 4, 8)[index], dtypes=dtypes,
                    sliced=index % 2 == 1, stride=1 + index % 2)
    run_twice(case)


@needs_gpu
@pytest.mark.parametrize("bs", [4096, MAX_BS])
def test_large_batch_sizes(bs):
    run_twice(SpecCase(bs, np.random.default_rng(bs), draft_tokens=2, a_cols=20, b_cols=6, lengths="short"))


@needs_gpu
@pytest.mark.parametrize("dst_cols", [0, 1, 255, 340, 600])
def test_tables_narrower_or_wider_than_upstreams_grid(dst_cols):
    """dst narrower than the summed widths: writing stops at its last column (upstream writes past the row); wider:
    writing stops at upstream's grid, 512 columns here."""
    run_twice(SpecCase(9, np.random.default_rng(dst_cols), a_cols=300, b_cols=40, dst_cols=dst_cols))


@needs_gpu
def test_int32_lengths_wrap_as_upstreams():
    case = SpecCase(2, np.random.default_rng(5), draft_tokens=1)
    case.len_a_h = np.array([I32.max, 100])
    case.len_b_h = np.array([10, I32.max])  # both sums wrap negative: nothing written
    case.upload()
    case.call()
    case.check()


@needs_gpu
def test_no_rows_launch_nothing():
    for bs, draft_tokens in ((0, 3), (4, 0)):
        case = SpecCase(bs, np.random.default_rng(bs), draft_tokens=draft_tokens)
        case.call()
        torch.cuda.synchronize()
        case.check_untouched()


@needs_gpu
@pytest.mark.parametrize("bs", [5, 64])
def test_graph_capture_and_replay_with_new_inputs(bs):
    case = SpecCase(bs, np.random.default_rng(bs), dtypes=(np.int64, np.int32), sliced=True)
    trtllm.capture_and_replay(case, launches=True, check=case.check)


@needs_gpu
def test_new_shapes_compile_nothing():
    rng = np.random.default_rng(73)
    SpecCase(12, rng).call()
    before = draftjit.stats()
    for bs, draft_tokens, a_cols, b_cols in ((1, 1, 7, 1), (300, 4, 300, 4), (4096, 2, 3, 2), (5, 5, 1000, 0)):
        case = SpecCase(bs, rng, draft_tokens=draft_tokens, a_cols=a_cols, b_cols=b_cols, sliced=bs % 2 == 1,
                        stride=1 + bs % 3)
        case.call()
        case.check()
    assert draftjit.stats() == before


@needs_gpu
def test_opcheck_and_the_array_interface():
    case = SpecCase(5, np.random.default_rng(2), sliced=True)
    torch.library.opcheck(getattr(torch.ops.draftjit, OP_NAME).default, case.op_args())
    call = getattr(draftjit, OP_NAME)
    run_twice(case, lambda: call(*[Interface(a) if isinstance(a, torch.Tensor) else a for a in case.op_args()]))


@needs_gpu
@pytest.mark.parametrize("change, match", [
    (lambda c: {"seq_len_b": c.len_b[:-1]}, "seq_len_b"),
    (lambda c: {"page_table_a": c.a[:-1]}, "page_table_a"),
    (lambda c: {"page_table_b": c.b[:-1]}, "page_table_b"),
    (lambda c: {"page_table_dst": c.dst[:c.rows - 1]}, "page_table_dst"),
    (lambda c: {"seq_len_a": c.len_a.float()}, "seq_len_a"),
    (lambda c: {"page_table_a": c.a.long()}, "page_table_a"),
])
def test_argument_errors_name_the_argument_and_write_nothing(change, match):
    case = SpecCase(5, np.random.default_rng(1))
    with pytest.raises((TypeError, ValueError, RuntimeError), match=match):
        case.call(**change(case))
    case.check_untouched()


# --- CPU --------------------------------------------------------------------------------------------------------

def test_the_op_description_and_the_kind():
    described = {name: arguments for name, _, _, arguments in draftjit._core.op_descriptions()}
    assert [argument[0] for argument in described[OP_NAME]] == ARGUMENTS + ["bs"]
    assert {argument[0] for argument in described[OP_NAME] if argument[2]} == {"page_table_dst"}
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert kinds[KIND] == ["a64", "b64"]
    source = draftjit.emit(1, kind=KIND, switches=["a64"])
    assert "draftjit_kernels::fa3_swa_spec_kernel<256, 32>(p)" in source
    assert source == draftjit.emit(MAX_BS, kind=KIND, switches=["a64"])
    with pytest.raises(ValueError, match="not 'swa'"):
        draftjit.emit(1, kind=KIND, switches=["swa"])


@needs_ops
def test_the_drop_in_is_upstreams_signature():
    parameters = inspect.signature(sglang.prepare_swa_spec_page_table_triton).parameters
    assert list(parameters) == ARGUMENTS


def test_upstreams_file_has_the_signature_tested_here():
    signature = test_fa3.upstream_signature("prepare_swa_spec_page_table_triton")
    assert signature == [(name, test_fa3.NO_DEFAULT) for name in ARGUMENTS]


# --- against upstream's own kernel -------------------------------------------------------------------------------

needs_upstream = trtllm.needs_upstream_of(upstream_fa3)
# (id, bs, SpecCase options): data where upstream is defined: dst as wide as its grid, lengths of stride 1 (upstream
# reads them as flat pointers).
UPSTREAM_CASES = [
    ("bs1", 1, dict(draft_tokens=1, a_cols=100, b_cols=20, dst_cols=256)),
    ("bs7-D3", 7, dict(draft_tokens=3, a_cols=300, b_cols=40, dst_cols=512)),
    ("bs33-D4-int64-a", 33, dict(draft_tokens=4, a_cols=513, b_cols=8, dst_cols=768, dtypes=(np.int64, np.int32))),
    ("bs64-D2-int64-both", 64, dict(draft_tokens=2, a_cols=256, b_cols=256, dst_cols=512,
                                   dtypes=(np.int64, np.int64))),
    ("bs300-short", 300, dict(draft_tokens=2, a_cols=4096, b_cols=16, dst_cols=4352, lengths="short")),
    ("bs5-sliced", 5, dict(draft_tokens=3, a_cols=300, b_cols=40, dst_cols=512, sliced=True)),
    ("bs0", 0, dict(draft_tokens=3, dst_cols=512)),
]


@needs_upstream
@pytest.mark.parametrize("bs, options", [case[1:] for case in UPSTREAM_CASES], ids=[case[0] for case in UPSTREAM_CASES])
def test_draftjit_writes_what_upstream_writes(upstream, bs, options):
    """Upstream's prepare_swa_spec_page_table_triton and draftjit.sglang's get twin buffers (one seed: the same values
    and poison); afterwards page_table_dst must be equal bit for bit, and draftjit's equal to the reference."""
    for draw in range(2):
        seed = zlib.crc32(f"{bs}|{sorted(options.items())}|{draw}".encode())
        theirs, mine = (SpecCase(bs, np.random.default_rng(seed), **options) for _ in range(2))
        upstream.prepare_swa_spec_page_table_triton(*theirs.args())
        mine.call()
        torch.cuda.synchronize()
        problem = first_difference("page_table_dst (draftjit vs upstream)", mine.dst_base.cpu().numpy(),
                                   theirs.dst_base.cpu().numpy())
        assert problem is None, f"draw {draw} (seed {seed}): {problem}"
        mine.check()
