"""The Python package on a GPU: exact results against a NumPy reference with poisoned outputs and a guard tail,
bad data, CUDA graph capture and replay, torch.compile, side streams, CuPy arrays, Python threads and a second
device. Every test is skipped by name where PyTorch or a CUDA device is missing."""

import threading

import numpy as np
import pytest

import draftjit

from gpu_marks import HAVE_GPU, needs_gpu, torch

pytestmark = needs_gpu

POISON = -0x5A5A5A5B  # 0xA5A5A5A5 as int32
GUARD = 64            # entries past capacity that must stay poisoned

SUITE_SIZES = [*range(0, 131), *(n + d for n in (256, 512, 1024, 2048, 4096, 8192) for d in (-1, 0, 1)), 65537,
               1 << 20]


def reference(ext, seq, topk):
    """docs/DESIGN.md's definition in NumPy, in int64."""
    ext64, seq64 = ext.astype(np.int64), seq.astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(ext64)])
    total = int(offsets[-1])
    base = np.repeat(seq64 - ext64 + 1, ext64)
    local = np.arange(total) - np.repeat(offsets[:-1], ext64)
    expanded = base + local
    return offsets.astype(np.int32), expanded.astype(np.int32), np.minimum(expanded, topk).astype(np.int32), total


def random_case(rng, bs, max_ext=4):
    ext = rng.integers(0, max_ext + 1, size=bs, dtype=np.int32)
    seq = (ext + rng.integers(0, 5001, size=bs)).astype(np.int32)
    return ext, seq, int(rng.integers(1, 6001))


def cuda(array, device="cuda"):
    return torch.from_numpy(np.ascontiguousarray(array)).to(device)


def poisoned(n, device="cuda"):
    return torch.full((n + GUARD,), POISON, dtype=torch.int32, device=device)


def expect(buffer, values, name):
    got = buffer.cpu().numpy()
    want = np.full(got.shape, POISON, dtype=np.int32)
    want[:len(values)] = values
    mismatch = np.nonzero(got != want)[0]
    assert mismatch.size == 0, f"{name}[{mismatch[0]}] = {got[mismatch[0]]}, expected {want[mismatch[0]]}"


class Problem:
    def __init__(self, ext, seq, topk, capacity=None, device="cuda"):
        self.offsets, self.expanded_ref, self.cache_ref, self.total = reference(ext, seq, topk)
        self.capacity = self.total + 37 if capacity is None else capacity
        self.ext, self.seq, self.topk = cuda(ext, device), cuda(seq, device), topk
        self.expanded, self.cache = poisoned(self.capacity, device), poisoned(self.capacity, device)

    def outputs(self):  # the capacity-long views the calls see; the guard tail lies past them
        return self.expanded[:self.capacity], self.cache[:self.capacity]

    def check(self):
        expect(self.expanded, self.expanded_ref, "seqlens_expanded")
        expect(self.cache, self.cache_ref, "nsa_cache_seqlens")

    def check_untouched(self):
        expect(self.expanded, [], "seqlens_expanded")
        expect(self.cache, [], "nsa_cache_seqlens")


def test_exact_results_for_the_suite_sizes():
    rng = np.random.default_rng()
    for bs in SUITE_SIZES:
        p = Problem(*random_case(rng, bs))
        assert draftjit.fill_draft_extend_metadata(p.ext, p.seq, p.topk, *p.outputs()) == p.total, bs
        p.check()

        p.expanded.fill_(POISON)
        p.cache.fill_(POISON)
        words = torch.full((2,), POISON, dtype=torch.int32, device="cuda")
        offsets = poisoned(bs + 1)
        draftjit.fill_draft_extend_metadata_async(p.ext, p.seq, p.topk, *p.outputs(), words[:1], words[1:],
                                                  offsets[:bs + 1])
        assert words.tolist() == [p.total, 0], bs
        p.check()
        expect(offsets, p.offsets, "offsets")

        offsets.fill_(POISON)
        expect(draftjit.exclusive_offsets(p.ext), p.offsets, "exclusive_offsets (allocated)")
        draftjit.exclusive_offsets(p.ext, offsets[:bs + 1])
        expect(offsets, p.offsets, "exclusive_offsets")


def test_worked_example_and_sglang_shim():
    from draftjit.sglang import fill_draft_extend_metadata_cuda_adaptive
    ext, seq = torch.tensor([2, 3], dtype=torch.int32).cuda(), torch.tensor([10, 15], dtype=torch.int32).cuda()
    expanded, cache = torch.zeros(5, dtype=torch.int32).cuda(), torch.zeros(5, dtype=torch.int32).cuda()
    total = fill_draft_extend_metadata_cuda_adaptive(ext, seq, 12, expanded, cache)
    assert isinstance(total, torch.Tensor) and total.item() == 5
    assert expanded.tolist() == [9, 10, 13, 14, 15] and cache.tolist() == [9, 10, 12, 12, 12]


@pytest.mark.parametrize("bs", [3, 100, 10000])
def test_bad_data_raises_status_error_and_writes_nothing(bs):
    rng = np.random.default_rng(bs)
    ext, seq, topk = random_case(rng, bs)
    ext[0] = max(ext[0], 1)  # a total of at least 1, so capacity total - 1 is valid
    seq[0] = max(seq[0], ext[0])
    p = Problem(ext, seq, topk, capacity=int(ext.sum()) - 1)
    with pytest.raises(draftjit.StatusError, match="total tokens exceed capacity") as caught:
        draftjit.fill_draft_extend_metadata(p.ext, p.seq, p.topk, *p.outputs())
    assert (caught.value.status, caught.value.total_tokens, caught.value.capacity) == (4, p.total, p.capacity)
    p.check_untouched()

    ext[bs // 2] = -1
    p = Problem(np.abs(ext), seq, topk)
    p.ext[bs // 2] = -1
    with pytest.raises(draftjit.StatusError) as caught:
        draftjit.fill_draft_extend_metadata(p.ext, p.seq, p.topk, *p.outputs())
    assert caught.value.status == draftjit.STATUS_BITS["negative_extend_len"]
    p.check_untouched()


@pytest.mark.parametrize("bs, replays", [(1, 200), (37, 1000), (3000, 200), (10000, 100)])
def test_graph_capture_and_replays_with_new_inputs(bs, replays):
    rng = np.random.default_rng()
    ext, seq, topk = random_case(rng, bs)
    capacity = 4 * bs + 8
    p = Problem(ext, seq, topk, capacity=capacity)
    words = torch.zeros(2, dtype=torch.int32, device="cuda")
    offsets = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
    draftjit.prepare(bs)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        torch.ops.draftjit.fill_draft_extend_metadata_async(p.ext, p.seq, topk, *p.outputs(), words[:1], words[1:],
                                                            offsets)
    for _ in range(replays):
        ext, seq, _ = random_case(rng, bs)
        _, expanded_ref, cache_ref, total = reference(ext, seq, topk)
        p.ext.copy_(cuda(ext))
        p.seq.copy_(cuda(seq))
        p.expanded.fill_(POISON)
        p.cache.fill_(POISON)
        graph.replay()
        assert words.tolist() == [total, 0]
        expect(p.expanded, expanded_ref, "seqlens_expanded")
        expect(p.cache, cache_ref, "nsa_cache_seqlens")


def test_torch_compile_fullgraph():
    def step(ext, seq, topk, expanded, cache, words, offsets, scan):
        torch.ops.draftjit.fill_draft_extend_metadata_async(ext, seq, topk, expanded, cache, words[:1], words[1:],
                                                            offsets)
        torch.ops.draftjit.exclusive_offsets(ext, scan, None)
        return words + 0, scan * 2

    compiled = torch.compile(step, fullgraph=True)
    rng = np.random.default_rng()
    for bs in (5, 300, 5000):
        p = Problem(*random_case(rng, bs))
        words = torch.zeros(2, dtype=torch.int32, device="cuda")
        offsets = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
        scan = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
        total_status, doubled = compiled(p.ext, p.seq, p.topk, *p.outputs(), words, offsets, scan)
        assert total_status.tolist() == [p.total, 0]
        assert np.array_equal(doubled.cpu().numpy(), 2 * p.offsets)
        p.check()


def test_torch_compile_fullgraph_blocking_op():
    def step(ext, seq, topk, expanded, cache):
        return torch.ops.draftjit.fill_draft_extend_metadata(ext, seq, topk, expanded, cache)

    compiled = torch.compile(step, fullgraph=True)
    p = Problem(*random_case(np.random.default_rng(), 77))
    total = compiled(p.ext, p.seq, p.topk, *p.outputs())
    assert total.device.type == "cpu" and total.item() == p.total
    p.check()


def test_side_streams():
    rng = np.random.default_rng()
    side = torch.cuda.Stream()
    p = Problem(*random_case(rng, 300))
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # the default is the current stream: side
        words = torch.zeros(2, dtype=torch.int32, device="cuda")
        draftjit.fill_draft_extend_metadata_async(p.ext, p.seq, p.topk, *p.outputs(), words[:1], words[1:])
    side.synchronize()
    assert words.tolist() == [p.total, 0]
    p.check()
    q = Problem(*random_case(rng, 3000))
    side.wait_stream(torch.cuda.current_stream())
    assert draftjit.fill_draft_extend_metadata(q.ext, q.seq, q.topk, *q.outputs(), stream=side) == q.total
    q.check()


def test_cupy_arrays():
    cupy = pytest.importorskip("cupy")
    rng = np.random.default_rng()
    for bs in (7, 500, 9000):
        ext, seq, topk = random_case(rng, bs)
        offsets, expanded_ref, cache_ref, total = reference(ext, seq, topk)
        capacity = total + 5
        expanded = cupy.full(capacity, POISON, dtype=cupy.int32)
        cache = cupy.full(capacity, POISON, dtype=cupy.int32)
        assert draftjit.fill_draft_extend_metadata(cupy.asarray(ext), cupy.asarray(seq), topk, expanded,
                                                   cache) == total
        assert np.array_equal(cupy.asnumpy(expanded)[:total], expanded_ref)
        assert np.array_equal(cupy.asnumpy(cache)[:total], cache_ref)
        assert (cupy.asnumpy(expanded)[total:] == POISON).all()
        out = cupy.zeros(bs + 1, dtype=cupy.int32)
        draftjit.exclusive_offsets(cupy.asarray(ext), out)
        assert np.array_equal(cupy.asnumpy(out), offsets)


class Exported:
    """An array's __cuda_array_interface__ taken at one moment, as Numba's wrappers keep it: its v3 "stream" is
    CuPy's current stream then, i.e. the producer's."""

    def __init__(self, array):
        self.__cuda_array_interface__ = array.__cuda_array_interface__


def test_cuda_array_interface_producer_stream_is_waited_on():
    # The inputs are written on a non-blocking stream after a ~20 ms spin; the call runs outside it, on CuPy's null
    # stream, which does not order after non-blocking streams by itself: only the interface's stream tells.
    cupy = pytest.importorskip("cupy")
    spin_then_fill = cupy.RawKernel(r"""
    extern "C" __global__ void spin_then_fill(int* ext, int* seq, int n, long long cycles) {
      const long long start = clock64();
      while (clock64() - start < cycles) {}
      for (int i = threadIdx.x; i < n; i += blockDim.x) { ext[i] = 3; seq[i] = 100; }
    }""", "spin_then_fill")
    bs = 64
    producer = cupy.cuda.Stream(non_blocking=True)
    for _ in range(5):
        ext, seq = cupy.zeros(bs, dtype=cupy.int32), cupy.zeros(bs, dtype=cupy.int32)
        expanded, cache = cupy.zeros(4 * bs, dtype=cupy.int32), cupy.zeros(4 * bs, dtype=cupy.int32)
        cupy.cuda.Device().synchronize()
        with producer:
            spin_then_fill((1,), (128,), (ext, seq, np.int32(bs), np.int64(40_000_000)))
            arrays = [Exported(a) for a in (ext, seq, expanded, cache)]
        assert arrays[0].__cuda_array_interface__["stream"] == producer.ptr
        assert draftjit.fill_draft_extend_metadata(arrays[0], arrays[1], 2048, arrays[2], arrays[3]) == 3 * bs
        assert cupy.asnumpy(expanded[:3]).tolist() == [98, 99, 100]


def test_eight_python_threads():
    failures = []

    def work(index, bs):
        try:
            rng = np.random.default_rng(index)
            stream = torch.cuda.Stream()
            with torch.cuda.stream(stream):
                for _ in range(20):
                    p = Problem(*random_case(rng, bs))
                    assert draftjit.fill_draft_extend_metadata(p.ext, p.seq, p.topk, *p.outputs()) == p.total
                    p.check()
        except Exception as error:  # reported below, with the thread
            failures.append(f"thread {index} bs {bs}: {error!r}")

    threads = [threading.Thread(target=work, args=(i, bs)) for i, bs in enumerate((1, 5, 33, 64, 65, 300, 2000,
                                                                                   9000))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, "\n".join(failures)


@pytest.mark.skipif(not HAVE_GPU or torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_second_device_tensors_and_graph_capture():
    rng = np.random.default_rng()
    torch.cuda.set_device(0)  # the calls must follow the tensors, not the current device
    for bs in (50, 5000):
        p = Problem(*random_case(rng, bs), device="cuda:1")
        assert draftjit.fill_draft_extend_metadata(p.ext, p.seq, p.topk, *p.outputs()) == p.total
        p.check()
    bs = 40
    p = Problem(*random_case(rng, bs), capacity=4 * bs, device="cuda:1")
    words = torch.zeros(2, dtype=torch.int32, device="cuda:1")
    draftjit.prepare(bs, device=1)
    with torch.cuda.device(1):
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            torch.ops.draftjit.fill_draft_extend_metadata_async(p.ext, p.seq, p.topk, *p.outputs(), words[:1],
                                                                words[1:], None)
        for _ in range(20):
            ext, seq, _ = random_case(rng, bs)
            _, expanded_ref, _, total = reference(ext, seq, p.topk)
            p.ext.copy_(cuda(ext, "cuda:1"))
            p.seq.copy_(cuda(seq, "cuda:1"))
            graph.replay()
            assert words.tolist() == [total, 0]
            assert np.array_equal(p.expanded[:total].cpu().numpy(), expanded_ref)
    with pytest.raises(ValueError, match="one device"):
        q = Problem(*random_case(rng, 4))
        draftjit.fill_draft_extend_metadata(q.ext, p.seq[:4], q.topk, *q.outputs())


FORK_AFTER_CUDA = """
import os, sys, torch, draftjit
ext = torch.tensor([2, 3], dtype=torch.int32, device="cuda"); seq = torch.tensor([10, 15], dtype=torch.int32, device="cuda")
out = torch.zeros(8, dtype=torch.int32, device="cuda"), torch.zeros(8, dtype=torch.int32, device="cuda")
assert draftjit.fill_draft_extend_metadata(ext, seq, 12, *out) == 5  # the parent has launched kernels
pid = os.fork()
if pid == 0:
    try:
        draftjit.fill_draft_extend_metadata(ext, seq, 12, *out)
        os._exit(3)  # CUDA cannot be used across fork(): a result here would be luck
    except draftjit.Error as error:
        os._exit(0 if "forked after CUDA was initialised" in str(error) else 4)
    except BaseException:
        os._exit(5)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_child_forked_after_cuda_calls_gets_a_clear_error():
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", FORK_AFTER_CUDA], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("bs", [37, 5000])  # the fused kernel, and the two-kernel path
def test_opcheck_every_operator(bs):
    rng = np.random.default_rng(bs)
    p = Problem(*random_case(rng, bs))
    words = torch.zeros(2, dtype=torch.int32, device="cuda")
    offsets = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
    ops = torch.ops.draftjit
    torch.library.opcheck(ops.fill_draft_extend_metadata.default, (p.ext, p.seq, p.topk, *p.outputs()))
    torch.library.opcheck(ops.fill_draft_extend_metadata_async.default,
                          (p.ext, p.seq, p.topk, *p.outputs(), words[:1], words[1:], offsets))
    torch.library.opcheck(ops.exclusive_offsets.default, (p.ext, offsets, None))
    torch.library.opcheck(ops.exclusive_offsets.default, (p.ext, offsets, words[1:]))


def test_torch_compile_dynamic_across_batch_sizes():
    def step(ext, seq, expanded, cache, words, offsets):
        torch.ops.draftjit.fill_draft_extend_metadata_async(ext, seq, 2048, expanded, cache, words[:1], words[1:],
                                                            offsets)
        return words + 0

    compiled = torch.compile(step, fullgraph=True, dynamic=True)
    rng = np.random.default_rng()
    for bs in (3, 17, 130, 4097, 6000):
        ext, seq, _ = random_case(rng, bs)
        p = Problem(ext, seq, 2048)
        words = torch.zeros(2, dtype=torch.int32, device="cuda")
        offsets = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
        assert compiled(p.ext, p.seq, *p.outputs(), words, offsets).tolist() == [p.total, 0], bs
        p.check()


@pytest.mark.parametrize("call, error, match", [
    (lambda p: draftjit.fill_draft_extend_metadata(p.ext.long(), p.seq, 8, *p.outputs()), TypeError,
     "extend_seq_lens must be int32, got torch.int64"),
    (lambda p: draftjit.fill_draft_extend_metadata(p.ext, p.seq.cpu(), 8, *p.outputs()), ValueError,
     "seq_lens must be on a CUDA device, got cpu"),
    (lambda p: draftjit.fill_draft_extend_metadata(p.ext, p.seq[:-1], 8, *p.outputs()), ValueError,
     "seq_lens has 15 entries but extend_seq_lens has 16"),
    (lambda p: draftjit.fill_draft_extend_metadata(p.ext, p.seq, 8, p.expanded[::2], p.cache[::2]), ValueError,
     "out_seqlens_expanded must be contiguous"),
    (lambda p: draftjit.fill_draft_extend_metadata(p.ext.view(4, 4), p.seq, 8, *p.outputs()), ValueError,
     "extend_seq_lens must be 1-D"),
    (lambda p: draftjit.fill_draft_extend_metadata(p.ext, p.seq, 2**31, *p.outputs()), ValueError,
     "nsa_index_topk = 2147483648 does not fit in int32"),
    (lambda p: draftjit.exclusive_offsets(p.ext, p.seq), ValueError, "out needs bs \\+ 1 = 17 entries, got 16"),
])
def test_errors_from_the_cpp_checks_name_the_argument(call, error, match):
    p = Problem(*random_case(np.random.default_rng(16), 16))
    with pytest.raises(error, match=match):
        call(p)
    p.check_untouched()
    # Through torch.ops the same check is PyTorch's own exception (torch 2.11: ValueError, for a wrong dtype too)
    # with the same message; the plain function above raised draftjit's typed one.
    with pytest.raises(ValueError, match="extend_seq_lens must be int32"):
        torch.ops.draftjit.fill_draft_extend_metadata(p.ext.long(), p.seq, 8, *p.outputs())


RECORD_CALLS = """
import torch, draftjit
for bs in (17, 5000):  # the fused unrolled kernel, then the scan and the fill
    ext = torch.ones(bs, dtype=torch.int32, device="cuda"); seq = ext * 9
    out = torch.empty(bs, dtype=torch.int32, device="cuda"), torch.empty(bs, dtype=torch.int32, device="cuda")
    assert draftjit.fill_draft_extend_metadata(ext, seq, 2048, *out) == bs
    assert draftjit.fill_draft_extend_metadata(ext, seq, 2048, *out) == bs  # a warm call records nothing more
"""

SERVE_FROM_MANIFEST = """
import sys, torch, draftjit
loaded = draftjit.prepare(manifest=sys.argv[1])
draftjit.freeze()  # DRAFTJIT_JIT=strict: a compile from here on raises
stats = draftjit.stats()
for bs in (17, 5000):
    ext = torch.ones(bs, dtype=torch.int32, device="cuda"); seq = ext * 9
    out = torch.empty(bs, dtype=torch.int32, device="cuda"), torch.empty(bs, dtype=torch.int32, device="cuda")
    assert draftjit.fill_draft_extend_metadata(ext, seq, 2048, *out) == bs
assert draftjit.stats() == stats, (stats, draftjit.stats())  # nothing loaded or compiled after prepare
try:
    draftjit.prepare([38])
except draftjit.Error as error:
    assert "DRAFTJIT_JIT=strict" in str(error), error
else:
    raise AssertionError("compiled bs 38 after freeze() in strict mode")
print(loaded)
"""


def test_record_a_manifest_then_prepare_exactly_its_kernels_and_serve_strict(tmp_path):
    import os
    import subprocess
    import sys
    manifest = tmp_path / "kernels.manifest"
    env = dict(os.environ, DRAFTJIT_CACHE_DIR=str(tmp_path / "recording"), DRAFTJIT_RECORD=str(manifest))
    recorded = subprocess.run([sys.executable, "-c", RECORD_CALLS], env=env, capture_output=True, text=True,
                              timeout=300)
    assert recorded.returncode == 0, recorded.stderr
    lines = [line for line in manifest.read_text().splitlines() if line and not line.startswith("#")]
    assert sorted(line.split()[1] for line in lines) == ["fill", "fused_unrolled", "scan_blelloch"], lines
    env = dict(os.environ, DRAFTJIT_CACHE_DIR=str(tmp_path / "serving"), DRAFTJIT_JIT="strict")
    served = subprocess.run([sys.executable, "-c", SERVE_FROM_MANIFEST, str(manifest)], env=env,
                            capture_output=True, text=True, timeout=300)
    assert served.returncode == 0, served.stdout + served.stderr
    assert served.stdout.split() == ["3"], served.stdout
