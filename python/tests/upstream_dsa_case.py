"""One DSA metadata call set up alike for upstream SGLang and for draftjit.sglang, which take the same arguments: a
Shape (what Triton or draftjit may specialise on: mode, bs, the tables' bound, switches, dtypes, strides), a Draw of
lengths for it from a seeded generator, and a Twin: the call's buffers on the GPU (inputs; outputs poisoned
everywhere, guard tails and padding included) with the arguments in upstream's order. Shared by
test_upstream_dsa.py (every buffer compared bit for bit) and bench/upstream_dsa_bench.py (timed)."""

from __future__ import annotations  # the annotations name torch, which may be missing where tests only collect

import dataclasses

import upstream_sglang

try:
    import torch
except ImportError:
    torch = None

POISON = -0x5A5A5A5B  # 0xA5A5A5A5 as int32: no length, prefix or token index takes it
GUARD = 8             # poisoned entries past each 1-D output
SEQ_GAP = 77          # what the gaps of a strided seq_lens hold: read by mistake, it changes lengths
EXT_GAP = 1           # ... of a strided extend_seq_lens: read by mistake, it changes the total


@dataclasses.dataclass(frozen=True)
class Shape:
    mode: str                   # "decode", "verify" or "extend"
    bs: int
    width: int                  # max_len / max_seqlen_k: the page tables' bound and columns
    variant: str = "main"       # upstream's file: "main" (real_page_size) or "kpool" (physical_page_size)
    page_size: int = 64
    kpool: int = 1              # index_kpool
    page_table_1: bool = True   # False: None, written by neither (page size > 1 only)
    topk: int = 2048
    seq_dtype: str = "int32"
    pool_dtype: str = "int64"
    ext_dtype: str = "int32"
    stride: int = 1             # of every 1-D input (2: a view of every other element)
    next_n: int = 2             # verify
    ctx: bool = False           # verify: paged_mqa_ctx_lens_2d given
    max_ext: int = 3            # extend: max_extend_len; max_total_len is bs x max_ext
    static: bool = False        # extend: static_extend_len (every extend length is max_ext)
    pad: int = 0                # extra rows and columns of every 2-D output: its view has a longer row stride
    r2t_extra: int = 0          # req_to_token columns past the width
    decoy_real: bool = False    # page size 1: a poisoned real_page_table of its own instead of page_table_1

    @classmethod
    def of(cls, mode, bs, width, **switches):
        """A shape with only the switches its mode has (the others keep their defaults, so names stay short)."""
        unused = {"decode": ("next_n", "ctx", "max_ext", "static", "ext_dtype"), "verify": ("max_ext", "static",
                  "ext_dtype"), "extend": ("next_n", "ctx")}[mode]
        return cls(mode, bs, width, **{k: v for k, v in switches.items() if k not in unused})

    @property
    def rows(self):
        """Rows of the per-row outputs: bs, bs x next_n, or max_total_len."""
        return {"decode": self.bs, "verify": self.bs * self.next_n, "extend": self.bs * self.max_ext}[self.mode]

    @property
    def pool_rows(self):
        return self.bs + 3

    @property
    def real_cols(self):
        return -(-self.width // self.page_size)

    def name(self):
        """The fields that differ from the defaults, for ids and messages."""
        default = Shape(self.mode, self.bs, self.width)
        changed = [f"{f.name}={getattr(self, f.name)}" for f in dataclasses.fields(self)[3:]
                   if getattr(self, f.name) != getattr(default, f.name)]
        return " ".join([f"{self.mode} bs={self.bs} width={self.width}", *changed])


@dataclasses.dataclass
class Draw:
    """Host inputs (int64) for a shape: seq_lens, req_pool_indices, extend_seq_lens (draft extend) and total_len."""
    seed: int
    live: str
    seq: torch.Tensor
    pool: torch.Tensor
    ext: torch.Tensor = None
    total: int = 0


# Live lengths: short ones in whatever width, long ones (at least half the width), past the width (upstream writes
# up to the bound whatever the length).
LIVE = {"short": lambda w: (0, min(3000, w)), "long": lambda w: (w // 2, w), "over": lambda w: (0, 3 * w + 200)}


def draw(shape, live, seed, padded=True, zero_ext=False):
    """Lengths for a shape from torch.Generator(seed). Draft extend: extend lengths in [0, max_ext] (all max_ext when
    static, all 0 with zero_ext), seq_lens at least the extend length, and with `padded` every 7th request a padded
    CUDA-graph row: seq_len 1 below an extend length of max_ext."""
    gen = torch.Generator().manual_seed(seed)
    bs = shape.bs
    low, high = LIVE[live](shape.width)
    seq = torch.randint(low, high + 1, (bs,), generator=gen)
    pool = torch.randperm(bs + 2, generator=gen)[:bs]  # row bs + 2 stays unused: a strided pool's gaps hold it
    result = Draw(seed, live, seq, pool)
    if shape.mode == "extend":
        if zero_ext:
            ext = torch.zeros(bs, dtype=torch.int64)
        elif shape.static:
            ext = torch.full((bs,), shape.max_ext, dtype=torch.int64)
        else:
            ext = torch.randint(0, shape.max_ext + 1, (bs,), generator=gen)
        result.seq = torch.maximum(seq, ext)
        if padded and not zero_ext:
            ext[::7] = shape.max_ext
            result.seq[::7] = 1
        result.ext, result.total = ext, int(ext.sum())
    return result


def requests_table(shape, seed, device="cuda"):
    """req_to_token: pool_rows x (width + r2t_extra) int32 token indices in [0, 2^31 - 1), drawn on the device."""
    gen = torch.Generator(device=device).manual_seed(seed)
    return torch.randint(0, 2**31 - 1, (shape.pool_rows, shape.width + shape.r2t_extra), generator=gen,
                         dtype=torch.int32, device=device)


class Twin:
    """A shape's buffers on the GPU: the 1-D inputs (strided views when shape.stride > 1), req_to_token as given, and
    (with outputs) every output poisoned. `bases` names every buffer in full, gaps, guards and padding included."""

    def __init__(self, shape, r2t, outputs=True):
        self.shape, self.r2t = shape, r2t
        self.bases, self.views = {"req_to_token": r2t}, {}
        self._vector("seq_lens", shape.bs * shape.stride, getattr(torch, shape.seq_dtype), SEQ_GAP, shape.stride)
        self._vector("req_pool_indices", shape.bs * shape.stride, getattr(torch, shape.pool_dtype), shape.bs + 2,
                     shape.stride)
        if shape.mode == "extend":
            self._vector("extend_seq_lens", shape.bs * shape.stride, getattr(torch, shape.ext_dtype), EXT_GAP,
                         shape.stride)
        if outputs:
            self._outputs()

    def _vector(self, name, n, dtype, fill, step=1, keep=None):
        base = torch.full((n,), fill, dtype=dtype, device=self.r2t.device)
        self.bases[name] = base
        self.views[name] = base[::step] if keep is None else base[:keep]

    def _table(self, name, rows, cols):
        pad = self.shape.pad
        base = torch.full((rows + pad, cols + pad), POISON, dtype=torch.int32, device=self.r2t.device)
        self.bases[name], self.views[name] = base, base[:rows, :cols]

    def _outputs(self):
        s, rows = self.shape, self.shape.rows
        for name, n in (("cache_seqlens", s.bs), ("cu_seqlens_k", s.bs + 1), ("dsa_cache_seqlens", rows),
                        ("dsa_cu_seqlens_k", rows + 1)):
            self._vector(name, n + GUARD, torch.int32, POISON, keep=n)
        if s.mode != "decode":
            self._vector("seqlens_expanded", rows + GUARD, torch.int32, POISON, keep=rows)
        if s.page_table_1:
            self._table("page_table_1", rows, s.width)
        if s.page_size > 1 or s.decoy_real:
            self._table("real_page_table", rows, s.real_cols)
        if s.mode == "verify" and s.ctx:
            self._table("paged_mqa_ctx_lens_2d", s.bs, s.next_n)
        self.outputs = [name for name in self.bases if name not in ("req_to_token", "seq_lens", "req_pool_indices",
                                                                     "extend_seq_lens")]

    def load(self, d):
        """The draw's values into the 1-D inputs (gaps keep their fill)."""
        self.views["seq_lens"].copy_(d.seq)
        self.views["req_pool_indices"].copy_(d.pool)
        if d.ext is not None:
            self.views["extend_seq_lens"].copy_(d.ext)
        self.total = d.total
        return self

    def poison(self):
        for name in self.outputs:
            self.bases[name].fill_(POISON)

    def arguments(self):
        """(args, kwargs) for upstream's function of shape.variant, and for draftjit.sglang's alike: upstream's
        parameters in order, all positional for "main"; for "kpool" the tensors, bs, the bound and topk positional
        and the rest by keyword, physical_page_size among them."""
        s, v = self.shape, self.views
        page_table_1 = v["page_table_1"] if s.page_table_1 else None
        real = v["real_page_table"] if "real_page_table" in v else page_table_1  # upstream's callers at page size 1
        ext = [v["extend_seq_lens"]] if s.mode == "extend" else []
        expanded = [v["seqlens_expanded"]] if s.mode != "decode" else []
        head = [v["seq_lens"], *ext, v["req_pool_indices"], self.r2t, v["cache_seqlens"], v["cu_seqlens_k"],
                page_table_1, *expanded, v["dsa_cache_seqlens"], v["dsa_cu_seqlens_k"], real, s.bs]
        head += [self.total] if s.mode == "extend" else []
        head += [s.width, s.topk]
        tail = [(upstream_sglang.PAGE_SIZE_KEYWORD[s.variant], s.page_size)]
        if s.mode == "verify":
            tail += [("next_n", s.next_n), ("paged_mqa_ctx_lens_2d", v.get("paged_mqa_ctx_lens_2d"))]
        if s.mode == "extend":
            tail += [("max_extend_len", s.max_ext), ("max_total_len", s.rows), ("static_extend_len", s.static)]
        tail += [("index_kpool", s.kpool)]
        if s.variant == "main":
            return head + [value for _, value in tail], {}
        return head, dict(tail)


def first_difference(name, got, want, labels=("draftjit", "upstream")):
    """A sentence locating the first of the cells where got and want differ."""
    bad = (got != want).nonzero()
    where = tuple(int(i) for i in bad[0])
    return (f"{name}{list(where)}: {labels[0]} {int(got[where])}, {labels[1]} {int(want[where])} ({bad.shape[0]} "
            f"cells differ; poison is {POISON})")


def differences(ours, theirs, labels=("draftjit", "upstream")):
    """Sentences for every buffer of `theirs` that is not bit for bit the same in `ours`."""
    return [first_difference(name, ours.bases[name], base, labels) for name, base in theirs.bases.items()
            if not torch.equal(ours.bases[name], base)]
