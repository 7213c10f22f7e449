"""The Python package without a GPU: import, emit, warmup into a temporary cache, error mapping, and argument
validation with fake __cuda_array_interface__ objects, rejected before anything reaches the driver."""

import os
import pathlib
import re
import types

import pytest

import draftjit

HAVE_GPU = draftjit.cuda_available()


class FakeArray:
    """An object with __cuda_array_interface__ and CuPy's device.id, pointing at nothing: safe only while
    validation rejects it, or where no driver can be reached."""

    def __init__(self, n, typestr="<i4", shape=None, strides=None, readonly=False, device=0, ptr=0x1000, **extra):
        self.__cuda_array_interface__ = {"shape": shape if shape is not None else (n,), "typestr": typestr,
                                         "data": (ptr, readonly), "strides": strides, "version": 3, **extra}
        self.device = types.SimpleNamespace(id=device)


def fill(**overrides):
    args = dict(extend_seq_lens=FakeArray(4), seq_lens=FakeArray(4), nsa_index_topk=2048,
                out_seqlens_expanded=FakeArray(16), out_nsa_cache_seqlens=FakeArray(16))
    args.update(overrides)
    return draftjit.fill_draft_extend_metadata(**args)


def test_import_and_version():
    assert draftjit.__version__.count(".") == 2
    assert draftjit.MAX_BS == 1 << 20
    assert issubclass(draftjit.StatusError, draftjit.Error)
    assert issubclass(draftjit.CompileError, draftjit.Error)
    assert issubclass(draftjit.Error, RuntimeError)


def test_version_has_one_source():
    # The wheel's version comes from pyproject's regex over CMakeLists.txt, the module's from the compile definition
    # of the same project(VERSION): a hard-coded version in either place would show here.
    tomllib = pytest.importorskip("tomllib")
    root = pathlib.Path(__file__).resolve().parents[2]
    setting = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["scikit-build"]["metadata"]["version"]
    assert setting["provider"] == "scikit_build_core.metadata.regex"
    match = re.search(setting["regex"], (root / setting["input"]).read_text())
    assert match is not None and match.group("value") == draftjit.__version__


def test_emit_source_and_ptx():
    source = draftjit.emit(5)
    assert "draftjit_fused(" in source and "fused_kernel<draftjit_kernels::UnrolledScan<5, 8, 128>>(p);" in source
    assert "BlellochScan<256, 1, 128>" in draftjit.emit(200)
    assert "draftjit_scan(" in draftjit.emit(10000)
    assert "draftjit_fill(" in draftjit.emit(10000, kind="fill")
    assert ".entry draftjit_fused(" in draftjit.emit(5, ptx=True, arch="sm_100")
    assert ".entry draftjit_fused(" in draftjit.emit(5, ptx=True, arch="compute_90")  # PTX the driver finishes


def test_emit_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"outside the supported range \[0, 1048576\]"):
        draftjit.emit(draftjit.MAX_BS + 1)
    with pytest.raises(ValueError, match="kind must be"):
        draftjit.emit(4, kind="bogus")
    with pytest.raises(ValueError, match="not a real GPU architecture"):
        draftjit.emit(4, arch="sm90", ptx=True)
    with pytest.raises(ValueError, match="not supported by NVRTC"):
        draftjit.emit(4, arch="sm_35", ptx=True)


def test_every_front_end_takes_every_kind_with_its_switches():
    kinds = {name: switches for name, _, switches in draftjit.kinds()}
    assert set(kinds) == {"main", "fused", "scan", "fill", "dsa-decode", "dsa-verify", "dsa-extend", "trtllm-mha",
                          "trtllm-mla", "trtllm-mha-table", "fa3-decode", "fa3-extend", "fa3-swa-spec",
                          "fa3-kv-splits", "draft-locs", "draft-kv", "kv-indices", "flashmla", "chunked-prefix"}
    assert kinds["kv-indices"] == ["start", "start64", "len64", "pool32", "entry", "map", "out64"]
    assert kinds["flashmla"] == ["start", "start64", "len64", "pool32"]
    assert kinds["chunked-prefix"] == ["start64", "len64", "pool32", "out64"]
    assert kinds["fa3-decode"] == ["seq64", "pool32", "swa", "skip"]
    assert kinds["fa3-extend"] == ["seq64", "pool32", "swa", "ext64"]
    assert kinds["trtllm-mha"] == ["seq64", "pool32", "q64", "qcumsum", "qstrided", "swa", "swaout", "skip"]
    assert kinds["trtllm-mla"] == ["seq64", "pool32"]
    assert kinds["trtllm-mha-table"] == ["seq64", "pool32", "swa"]
    assert kinds["draft-locs"] == ["seq64", "pool32"]
    assert kinds["draft-kv"] == ["pool32", "len64", "pos32", "out64"]
    assert kinds["main"] == [] and kinds["dsa-verify"] == ["seq64", "pool32", "paged", "kpool", "ctx2d", "realonly"]
    assert kinds["dsa-extend"] == ["seq64", "pool32", "paged", "kpool", "ext64", "static", "realonly"]
    source = draftjit.emit(3, kind="dsa-verify", switches=["paged", "ctx2d"])
    assert "dsa_target_verify_kernel<draftjit_kernels::UnrolledScan<3, 4, 256>, 20>(p)" in source
    assert "draftjit_scan(" in draftjit.emit(3, kind="scan")  # exclusive_offsets' kernel, which prepare can load too
    assert draftjit.warmup([1, 2, 2, 40, 60], "sm_89", kind="dsa-extend", switches=["seq64"])["kernels"] == 3
    with pytest.raises(ValueError, match="the dsa-decode kind's switches are seq64, pool32, paged, kpool, realonly"):
        draftjit.warmup([1], "sm_89", kind="dsa-decode", switches=["bogus"])
    with pytest.raises(ValueError, match="not 'ctx2d'"):
        draftjit.emit(1, kind="dsa-decode", switches=["ctx2d"])
    with pytest.raises(ValueError, match="the realonly switch needs paged"):
        draftjit.emit(1, kind="dsa-extend", switches=["realonly"])
    # one TRTLLM-MHA kernel per switch set, whatever the batch sizes
    assert draftjit.warmup([1, 40, 5000], "sm_89", kind="trtllm-mha", switches=["swa", "qcumsum"])["kernels"] == 1
    with pytest.raises(ValueError, match="the swa switch writes a page table, which skip leaves out"):
        draftjit.emit(1, kind="trtllm-mha", switches=["swa", "skip"])
    with pytest.raises(ValueError, match="the main kind takes no switches"):
        draftjit.emit(1, switches=["paged"])
    with pytest.raises(TypeError, match="switches must be an iterable"):
        draftjit.emit(1, kind="dsa-decode", switches="paged")


def test_status_bits_come_from_the_library():
    for bits in (draftjit.STATUS_BITS, draftjit.DSA_STATUS_BITS):
        values = list(bits.values())
        assert all(v > 0 and v & (v - 1) == 0 for v in values) and len(set(values)) == len(values)
    assert draftjit.DSA_STATUS_BITS["int32_overflow"] == 4 and draftjit.STATUS_BITS["total_overflow"] == 2


def test_warmup_fills_the_cache_dir():
    directory = draftjit.cache_dir()
    assert directory == os.environ["DRAFTJIT_CACHE_DIR"]
    # sm_87, an arch no test GPU here has: a GPU test that ran first in this session's cache compiled its own arch's
    # kernels, never these.
    first = draftjit.warmup([1, 2, 300], "sm_87")
    assert first == {"kernels": 3, "compiled": 3, "cached": 0, "not_stored": 0}
    assert len([name for name in os.listdir(directory) if ".sm_87-" in name and name.endswith(".cubin")]) == 3
    assert draftjit.warmup(range(1, 3), "sm_87") == {"kernels": 2, "compiled": 0, "cached": 2, "not_stored": 0}
    with pytest.raises(ValueError, match="outside the supported range"):
        draftjit.warmup([-1], "sm_87")


@pytest.mark.parametrize("overrides, error, match", [
    ({"extend_seq_lens": FakeArray(4, typestr="<i8")}, TypeError, "extend_seq_lens must be int32"),
    ({"seq_lens": FakeArray(4, typestr="<f4")}, TypeError, "seq_lens must be int32"),
    ({"seq_lens": [1, 2, 3, 4]}, TypeError, "seq_lens must be a CUDA tensor or an object with"),
    ({"extend_seq_lens": FakeArray(4, shape=(2, 2))}, ValueError, "extend_seq_lens must be 1-D"),
    ({"out_seqlens_expanded": FakeArray(16, strides=(8,))}, ValueError, "out_seqlens_expanded must be contiguous"),
    ({"out_nsa_cache_seqlens": FakeArray(16, readonly=True)}, ValueError, "out_nsa_cache_seqlens is read-only"),
    ({"seq_lens": FakeArray(5)}, ValueError, "seq_lens has 5 entries but extend_seq_lens has 4"),
    ({"out_nsa_cache_seqlens": FakeArray(15)}, ValueError, "both are the capacity"),
    ({"seq_lens": FakeArray(4, device=1)}, ValueError, "all arrays must be on one device"),
    ({"seq_lens": FakeArray(4, mask=FakeArray(4))}, ValueError, "seq_lens: masked arrays"),
    ({"out_seqlens_expanded": FakeArray(16, stream=0)}, ValueError, "stream 0 is disallowed"),
    ({"nsa_index_topk": 2**31}, ValueError, "nsa_index_topk = 2147483648 does not fit in int32"),
    ({"nsa_index_topk": 1.5}, TypeError, "'float' object cannot be interpreted as an integer"),
    ({"nsa_index_topk": "2048"}, TypeError, "nsa_index_topk must be an int: 'str' object"),
    ({"extend_seq_lens": FakeArray(draftjit.MAX_BS + 1), "seq_lens": FakeArray(draftjit.MAX_BS + 1)}, ValueError,
     "outside the supported range"),
])
def test_bad_arguments_are_rejected_before_any_launch(overrides, error, match):
    # Were any of these to reach the driver, there would be a draftjit.Error (no driver) or a launch on a bogus
    # pointer instead of the argument error.
    with pytest.raises(error, match=match):
        fill(**overrides)


def test_async_and_offsets_arguments():
    words = dict(total=FakeArray(1), status=FakeArray(1))
    base = dict(extend_seq_lens=FakeArray(4), seq_lens=FakeArray(4), nsa_index_topk=8,
                out_seqlens_expanded=FakeArray(16), out_nsa_cache_seqlens=FakeArray(16))
    with pytest.raises(ValueError, match="status must have at least one entry"):
        draftjit.fill_draft_extend_metadata_async(**base, total=FakeArray(1), status=FakeArray(0))
    with pytest.raises(ValueError, match="offsets needs bs \\+ 1 = 5 entries, got 4"):
        draftjit.fill_draft_extend_metadata_async(**base, **words, offsets=FakeArray(4))
    with pytest.raises(TypeError, match="total must be"):
        draftjit.fill_draft_extend_metadata_async(**base, total=None, status=FakeArray(1))
    with pytest.raises(TypeError, match="pass out"):
        draftjit.exclusive_offsets(FakeArray(4))
    with pytest.raises(ValueError, match="out needs bs \\+ 1 = 5 entries, got 3"):
        draftjit.exclusive_offsets(FakeArray(4), FakeArray(3))
    with pytest.raises(TypeError, match="stream must be"):
        fill(stream="default")


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_valid_arguments_reach_the_driver_and_its_error_maps_to_draftjit_error():
    with pytest.raises(draftjit.Error, match="no CUDA driver found"):
        fill()
    with pytest.raises(draftjit.Error, match="no CUDA driver found"):
        draftjit.prepare([1, 2])
    for mode in ("dsa-decode", "dsa-verify", "dsa-extend"):  # every DSA kind gets as far as the driver
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            draftjit.prepare_dsa(mode, [1, 2], real_page_size=64, page_table_1=False)


def test_error_classes_carry_their_fields():
    error = draftjit.StatusError("bad", status=4, total_tokens=10, capacity=9)
    assert (error.status, error.total_tokens, error.capacity, str(error)) == (4, 10, 9, "bad")
    compile_error = draftjit.CompileError("no", key="k", log="l")
    assert (compile_error.key, compile_error.log) == ("k", "l")


def test_doctor_reports_the_nvrtc_and_the_cache():
    text, ok = draftjit.doctor()
    assert ok, text
    assert "nvrtc: loaded" in text and "cache: directory" in text and "env: DRAFTJIT_CACHE_DIR=" in text


def test_cache_dir_is_where_this_process_stores_not_what_the_environment_says_now():
    directory = draftjit.cache_dir()
    os.environ["DRAFTJIT_CACHE_DIR"] = directory + "-elsewhere"
    try:
        assert draftjit.cache_dir() == directory  # the pipeline fixed its location at first use
    finally:
        os.environ["DRAFTJIT_CACHE_DIR"] = directory


def test_a_str_nsa_index_topk_with_torch_tensors_is_a_type_error():
    # Issue 30: with tensors the call goes through the torch operator, whose schema check turned a str into a
    # RuntimeError; the README promises TypeError naming the argument, before anything runs.
    torch = pytest.importorskip("torch")
    lens = torch.zeros(4, dtype=torch.int32)
    out = torch.zeros(16, dtype=torch.int32)
    for call in (lambda: draftjit.fill_draft_extend_metadata(lens, lens, "2048", out, out.clone()),
                 lambda: draftjit.fill_draft_extend_metadata_async(lens, lens, "2048", out, out.clone(),
                                                                   torch.zeros(1, dtype=torch.int32),
                                                                   torch.zeros(1, dtype=torch.int32))):
        with pytest.raises(TypeError, match="nsa_index_topk must be an int"):
            call()


def dsa_call(mode, bs=4, bound=8, page_size=64, **overrides):
    """A DSA op through the pybind11 path (draftjit.dsa_*_metadata) on fake __cuda_array_interface__ arrays: bs
    requests, tables of bound columns, the page size given; overrides replace any argument (None leaves an optional
    array out)."""
    rows = {"decode": bs, "verify": 2 * bs, "extend": 2 * bs}[mode]
    pages = -(-bound // page_size)
    args = dict(seq_lens=FakeArray(bs), req_pool_indices=FakeArray(bs, "<i8"),
                req_to_token=FakeArray(0, shape=(bs, bound)), cache_seqlens=FakeArray(bs),
                cu_seqlens_k=FakeArray(bs + 1), page_table_1=FakeArray(0, shape=(rows, bound)),
                dsa_cache_seqlens=FakeArray(rows), dsa_cu_seqlens_k=FakeArray(rows + 1),
                real_page_table=FakeArray(0, shape=(rows, pages)), bs=bs, dsa_index_topk=2048,
                real_page_size=page_size, index_kpool=1, status=None)
    if mode == "decode":
        args.update(max_len=bound)
    elif mode == "verify":
        args.update(seqlens_expanded=FakeArray(rows), max_seqlen_k=bound, next_n=2, paged_mqa_ctx_lens_2d=None)
    else:
        args.update(extend_seq_lens=FakeArray(bs), seqlens_expanded=FakeArray(rows), total_len=rows, max_seqlen_k=bound,
                    static_extend_len=0)
    args.update(overrides)
    name = {"decode": "dsa_decode_metadata", "verify": "dsa_target_verify_metadata",
            "extend": "dsa_draft_extend_metadata"}[mode]
    return getattr(draftjit, name)(**args)


@pytest.mark.skipif(HAVE_GPU, reason="with a GPU, valid fake arrays would reach a real launch")
def test_dsa_arguments_of_upstreams_newest_contract_are_checked_before_the_driver():
    """Issue 29 through the array-interface path, no GPU needed: what upstream accepts reaches the driver (the
    driver's error, draftjit.Error, is the proof), arrays the op descriptions refuse are refused by name first. The
    C++ API's own rules (index_kpool >= 1, page_table_1 with a page size of 1) run in the device's context, after
    the driver: tests/unit/dsa_args_test.cpp checks them without one, test_dsa.py through Python on a GPU."""
    for mode in ("decode", "verify", "extend"):
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):
            dsa_call(mode)
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):  # upstream's page_table_1=None, P > 1
            dsa_call(mode, page_table_1=None)
        with pytest.raises(draftjit.Error, match="no CUDA driver found"):  # strided per-request inputs, int32/int64
            dsa_call(mode, seq_lens=FakeArray(0, shape=(4,), strides=(8,)),
                     req_pool_indices=FakeArray(0, "<i4", shape=(4,), strides=(12,)))
        with pytest.raises(ValueError, match="seq_lens must have a non-negative stride of whole elements"):
            dsa_call(mode, seq_lens=FakeArray(0, shape=(4,), strides=(6,)))
        with pytest.raises(ValueError, match="cache_seqlens must be contiguous"):  # outputs stay contiguous
            dsa_call(mode, cache_seqlens=FakeArray(0, shape=(4,), strides=(8,)))
    with pytest.raises(draftjit.Error, match="no CUDA driver found"):  # int64 extend lengths, any stride, static
        dsa_call("extend", extend_seq_lens=FakeArray(0, "<i8", shape=(4,), strides=(16,)), static_extend_len=1)
    with pytest.raises(TypeError, match="extend_seq_lens must be int32 or int64"):
        dsa_call("extend", extend_seq_lens=FakeArray(4, "<i2"))
    # the description's own rules, in its order: bs's range first, then each array's size rule
    with pytest.raises(ValueError, match=f"bs = {draftjit.MAX_DSA_BS + 1} is outside the supported range"):
        dsa_call("decode", bs=draftjit.MAX_DSA_BS + 1)
    with pytest.raises(ValueError, match="next_n = 4294967296 does not fit in int32"):
        dsa_call("verify", next_n=2**32)
    with pytest.raises(ValueError, match="dsa_cache_seqlens needs bs \\* next_n = 8 entries, got 7"):
        dsa_call("verify", dsa_cache_seqlens=FakeArray(7))
    with pytest.raises(ValueError, match="dsa_cu_seqlens_k must have at least one entry"):
        dsa_call("extend", dsa_cu_seqlens_k=FakeArray(0))


def test_op_descriptions_mark_as_written_what_the_schemas_alias():
    """What the tests poison and compare (an argument's `written` flag) is what torch's schema lets the op write."""
    for name, schema, _, arguments in draftjit._core.op_descriptions():
        in_schema = {part.split()[-1] for part in schema[schema.index("(") + 1:schema.index(") ->")].split(", ")
                     if "!)" in part}
        assert in_schema == {argument for argument, _, out, _ in arguments if out}, name
