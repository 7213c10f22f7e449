"""draftjit.sglang's DSA metadata functions against upstream SGLang's own Triton kernels, bit for bit.

Upstream's files come from the directory DRAFTJIT_UPSTREAM_SGLANG names (upstream_sglang.py says which and how they
load); without it, or without PyTorch, Triton, a CUDA device or draftjit's operators, every test is skipped with the
reason. Each case is a Shape (upstream_dsa_case.py) and one or two seeded draws of lengths for it: for each draw
both functions get the same arguments on separate but identical buffers, outputs poisoned beforehand, and afterwards
every buffer must be the same bit for bit, in full: guard tails, table padding, rows and columns neither writes,
the inputs (unchanged, also against a pristine copy). Cases are grouped so that one Triton compile serves all draws
of a case (Triton specialises on bs, the 1-D inputs' strides, req_to_token's strides, topk, the page size,
index_kpool, next_n and the switches).

Groups: every mode over bs 0 to 16384 with the switches rotating; a switch matrix for each mode and upstream file
(main: real_page_size, kpool: physical_page_size) at bs 6; short lives in wide tables, long lives, 1M-column tables
and lengths past the bound; bs 0 everywhere; draft extend with no tokens (upstream's torch path). About 120 Triton
compiles dominate the run: expect 1.5-3 minutes on an H100."""

import zlib

import pytest

import upstream_sglang
from upstream_dsa_case import Shape, Twin, differences, draw, requests_table


def _why_skipped():
    why = upstream_sglang.missing()
    if why:
        return why
    try:
        import draftjit
        from draftjit import sglang  # noqa: F401  (needs draftjit's torch operators)
    except Exception as error:  # ImportError, or the operators' library failing to load
        return f"needs draftjit.sglang with its torch operators (PYTHONPATH=build-device/python): {error}"
    if not draftjit.cuda_available():
        return "needs a CUDA device that draftjit can use"
    return None


WHY_SKIPPED = _why_skipped()
pytestmark = pytest.mark.skipif(WHY_SKIPPED is not None, reason=WHY_SKIPPED or "")

if WHY_SKIPPED is None:
    import torch

    from draftjit import sglang as ours

MODES = ("decode", "verify", "extend")
BS_SWEEP = (0, 1, 2, 3, 7, 8, 31, 32, 33, 64, 127, 128, 129, 255, 256, 511, 512, 1023, 1024, 4096, 16384)
# Switches for the sweep, one set per bs in turn.
ROTATION = (
    {},
    {"page_size": 1, "seq_dtype": "int64", "pool_dtype": "int32", "stride": 2},
    {"variant": "kpool", "kpool": 4, "page_table_1": False, "ext_dtype": "int64", "topk": 64},
    {"kpool": 4, "seq_dtype": "int64", "stride": 2, "pad": 3, "ctx": True},
)
# The switch matrix, for each mode and file, at bs 6 (request 0 a padded row in draft extend).
MATRIX = (
    {"page_size": 1, "topk": 64, "next_n": 1},
    {"kpool": 4, "page_table_1": False, "seq_dtype": "int64", "ext_dtype": "int64", "stride": 2, "ctx": True,
     "next_n": 3},
    {"kpool": 4, "topk": 64, "seq_dtype": "int64", "pool_dtype": "int32", "static": True, "pad": 2},
    {"page_size": 1, "kpool": 4, "stride": 2, "ctx": True, "next_n": 4, "decoy_real": True, "pad": 1},
    {"page_table_1": False, "topk": 64, "static": True, "next_n": 1, "ext_dtype": "int64", "max_ext": 2},
)
# (name, shape switches, the draws' live lengths): tables against lengths.
WIDTHS = (
    ("short-in-wide", {"bs": 7, "width": 131072, "kpool": 4}, ("short", "short")),
    ("short-in-wide-kpool-P1", {"bs": 3, "width": 131072, "variant": "kpool", "page_size": 1}, ("short", "short")),
    ("long", {"bs": 5, "width": 32768, "variant": "kpool", "kpool": 4, "ctx": True}, ("long", "long")),
    ("1M", {"bs": 2, "width": 1_000_003, "kpool": 4, "topk": 4096, "max_ext": 2}, ("long", "short")),
    ("past-the-bound", {"bs": 9, "width": 1, "page_size": 1, "next_n": 3}, ("over", "over")),
)


def sweep_shape(mode, index, bs):
    width = 4096 if bs <= 64 else 1024 if bs <= 512 else 512 if bs <= 1024 else 256
    switches = dict(ROTATION[index % len(ROTATION)])
    # Keep the one-program scans of upstream (bs x next_n or max_total_len entries) within upstream's own tests.
    switches["next_n"] = 3 if bs <= 64 else 2 if bs <= 1024 else 1
    switches["max_ext"] = 3 if bs <= 1024 else 2 if bs <= 4096 else 1
    switches["static"] = bs >= 4096 or index % 2 == 1
    return Shape.of(mode, bs, width, **switches)


def cases():
    """(id, shape, lives, draw options) for every test."""
    result = []
    for mode in MODES:
        for index, bs in enumerate(BS_SWEEP):
            shape = sweep_shape(mode, index, bs)
            result.append((f"sweep-{shape.name()}", shape, ("short", "long"), {}))
        for variant in ("main", "kpool"):
            for switches in MATRIX:
                shape = Shape.of(mode, 6, 300, variant=variant, r2t_extra=7, **switches)
                result.append((f"matrix-{shape.name()}", shape, ("short", "over"), {}))
        for name, switches, lives in WIDTHS:
            switches = dict(switches)
            shape = Shape.of(mode, switches.pop("bs"), switches.pop("width"), **switches)
            result.append((f"{name}-{shape.name()}", shape, lives, {}))
        for variant in ("main", "kpool"):
            for switches in ({"page_size": 1}, {"page_table_1": False, "ctx": True, "stride": 2}):
                shape = Shape.of(mode, 0, 300, variant=variant, **switches)
                result.append((f"bs0-{shape.name()}", shape, ("short",), {}))
    for bs, switches in ((1, {"page_size": 1}), (5, {"page_table_1": False, "stride": 2}),
                         (33, {"static": True, "seq_dtype": "int64"}), (6, {"variant": "kpool", "kpool": 4})):
        shape = Shape.of("extend", bs, 300, **switches)
        result.append((f"no-tokens-{shape.name()}", shape, ("short", "long"), {"zero_ext": True}))
    return result


CASES = cases()


@pytest.fixture(scope="module")
def upstream():
    return upstream_sglang.load()


@pytest.mark.parametrize("shape, lives, options", [case[1:] for case in CASES],
                         ids=[case[0].replace(" ", ",") for case in CASES])
def test_draftjit_writes_what_upstream_writes(upstream, shape, lives, options):
    functions = upstream.functions(shape.variant)
    if functions is None:
        pytest.skip(f"{upstream.base} has no {upstream_sglang.ATTENTION}/dsa_kpool_metadata/")
    theirs_function = functions[shape.mode]
    ours_function = getattr(ours, upstream_sglang.FUNCTIONS[shape.mode])
    for number, live in enumerate(lives):
        seed = zlib.crc32(f"{shape.name()}|{live}|{number}".encode())  # the same in every process
        d = draw(shape, live, seed, **options)
        r2t = requests_table(shape, seed)
        pristine = Twin(shape, r2t.clone(), outputs=False).load(d)
        theirs = Twin(shape, r2t.clone()).load(d)
        mine = Twin(shape, r2t.clone()).load(d)
        args, kwargs = theirs.arguments()
        theirs_function(*args, **kwargs)
        args, kwargs = mine.arguments()
        ours_function(*args, **kwargs)
        torch.cuda.synchronize()
        problems = differences(mine, theirs) + differences(mine, pristine, ("draftjit", "as loaded"))
        assert not problems, (f"{shape.name()}, draw {number} ({live} lengths, seed {seed}, total_len {d.total}): "
                              + "; ".join(problems))
