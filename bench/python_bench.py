"""Per-call latency of the draft-extend metadata paths from Python, medians in microseconds, with same-run ratios.

usage: python3 bench/python_bench.py [--calls N] [--bs 1,32,128,1024,4096] [--json FILE]
(with the draftjit package importable: PYTHONPATH=build-device/python, or after pip install .)

Columns: floor (empty kernel + 4-byte read + sync), torch_ops (zeros + cumsum + copy_ + item + a fill in torch
ops), note (one-thread scan kernel + item + fill kernel, in Triton), triton (torch cumsum + item + Triton fill),
ours (draftjit.fill_draft_extend_metadata), ours_op (the same through torch.ops.draftjit), ours_async
(back-to-back async calls, batches of 100 then one sync), floor_async (back-to-back empty kernels), graph (replay
of a graph holding the async op + sync) and empty_graph (replay of a graph holding one empty kernel + sync)."""

import argparse
import json
import statistics
import time

import numpy as np
import torch
import triton
import triton.language as tl

import draftjit


@triton.jit
def _fill_kernel(ext, seq, offsets, out_expanded, out_cache, topk, BLOCK: tl.constexpr):
    b = tl.program_id(0)
    e = tl.load(ext + b)
    base = tl.load(seq + b) - e + 1
    start = tl.load(offsets + b)
    for i in range(0, e, BLOCK):
        local = i + tl.arange(0, BLOCK)
        mask = local < e
        value = base + local
        tl.store(out_expanded + start + local, value, mask=mask)
        tl.store(out_cache + start + local, tl.minimum(value, topk), mask=mask)


@triton.jit
def _one_thread_scan(ext, offsets, bs):
    # The design note's scan: one program walks the requests in order through global memory.
    tl.store(offsets, 0)
    running = 0
    for b in range(0, bs):
        running += tl.load(ext + b)
        tl.store(offsets + b + 1, running)


def _triton_fill(ext, seq, offsets, out_expanded, out_cache, topk):
    _fill_kernel[(ext.numel(),)](ext, seq, offsets, out_expanded, out_cache, topk, BLOCK=16)


def median_us(call, calls):
    for _ in range(max(calls // 10, 50)):
        call()
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(samples)


def batched_us(call, calls, per_batch=100):
    samples = []
    for batch in range(-3, max(calls // per_batch, 10)):
        start = time.perf_counter_ns()
        for _ in range(per_batch):
            call()
        torch.cuda.synchronize()
        if batch >= 0:
            samples.append((time.perf_counter_ns() - start) / 1000 / per_batch)
    return statistics.median(samples)


def graph_of(call):
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        call()  # warm, outside capture
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        call()
    return graph


def run(bs, calls):
    rng = np.random.default_rng(bs)
    ext_h = rng.integers(1, 5, size=bs, dtype=np.int32)
    seq_h = (ext_h + rng.integers(0, 8001, size=bs)).astype(np.int32)
    total = int(ext_h.sum())
    ext, seq = torch.from_numpy(ext_h).cuda(), torch.from_numpy(seq_h).cuda()
    capacity = 4 * bs
    expanded = torch.zeros(capacity, dtype=torch.int32, device="cuda")
    cache = torch.zeros(capacity, dtype=torch.int32, device="cuda")
    words = torch.zeros(2, dtype=torch.int32, device="cuda")
    offsets = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
    flag = torch.zeros(1, dtype=torch.int32, device="cuda")
    total_word, status_word = words[:1], words[1:]
    topk = 2048
    draftjit.prepare(bs)

    def floor():
        torch.cuda._sleep(0)
        return flag.item()

    def torch_ops():
        o = torch.zeros(bs + 1, dtype=torch.int32, device="cuda")
        o[1:].copy_(torch.cumsum(ext, 0))
        n = int(o[-1].item())
        request = torch.repeat_interleave(torch.arange(bs, device="cuda"), ext, output_size=n)
        value = (seq - ext + 1)[request] + torch.arange(n, device="cuda", dtype=torch.int32) - o[request]
        expanded[:n].copy_(value)
        cache[:n].copy_(torch.clamp(value, max=topk))
        return n

    def note():
        _one_thread_scan[(1,)](ext, offsets, bs)
        n = int(offsets[bs].item())
        _triton_fill(ext, seq, offsets, expanded, cache, topk)
        return n

    def triton_path():
        offsets[1:].copy_(torch.cumsum(ext, 0))
        n = int(offsets[bs].item())
        _triton_fill(ext, seq, offsets, expanded, cache, topk)
        return n

    def ours():
        return draftjit.fill_draft_extend_metadata(ext, seq, topk, expanded, cache)

    def ours_op():
        return torch.ops.draftjit.fill_draft_extend_metadata(ext, seq, topk, expanded, cache).item()

    def ours_async():
        draftjit.fill_draft_extend_metadata_async(ext, seq, topk, expanded, cache, total_word, status_word, offsets)

    def async_op():
        torch.ops.draftjit.fill_draft_extend_metadata_async(ext, seq, topk, expanded, cache, total_word, status_word,
                                                            offsets)

    offsets.zero_()
    for name, path in (("torch_ops", torch_ops), ("note", note), ("triton", triton_path), ("ours", ours),
                       ("ours_op", ours_op)):
        got = path()
        assert got == total, f"{name} at bs {bs}: total {got}, expected {total}"
    row = {"bs": bs}
    for name, path in (("floor", floor), ("torch_ops", torch_ops), ("note", note), ("triton", triton_path),
                       ("ours", ours), ("ours_op", ours_op)):
        row[name] = median_us(path, calls)
    row["floor_async"] = batched_us(lambda: torch.cuda._sleep(0), calls)
    row["ours_async"] = batched_us(ours_async, calls)
    graph, empty = graph_of(async_op), graph_of(lambda: torch.cuda._sleep(0))

    def replay(g):
        def call():
            g.replay()
            torch.cuda.synchronize()
        return call

    row["graph"] = median_us(replay(graph), calls)
    row["empty_graph"] = median_us(replay(empty), calls)
    assert words.tolist() == [total, 0]
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--bs", default="1,32,128,1024,4096")
    parser.add_argument("--json")
    options = parser.parse_args()
    rows = [run(int(bs), options.calls) for bs in options.bs.split(",")]
    columns = ["floor", "torch_ops", "note", "triton", "ours", "ours_op", "floor_async", "ours_async", "graph",
               "empty_graph"]
    device = torch.cuda.get_device_name()
    print(f"device: {device}; torch {torch.__version__}, triton {triton.__version__}; {options.calls} calls per "
          f"median (us)")
    print("".join(f"{c:>12}" for c in ["bs", *columns]))
    for row in rows:
        print(f"{row['bs']:>12}" + "".join(f"{row[c]:>12.2f}" for c in columns))
    ratios = {
        "ours/floor": lambda r: r["ours"] / r["floor"],
        "torch_ops/ours": lambda r: r["torch_ops"] / r["ours"],
        "note/ours": lambda r: r["note"] / r["ours"],
        "triton/ours": lambda r: r["triton"] / r["ours"],
        "op_overhead_us": lambda r: r["ours_op"] - r["ours"],
        "async/floor_async": lambda r: r["ours_async"] / r["floor_async"],
        "graph/empty_graph": lambda r: r["graph"] / r["empty_graph"],
    }
    print("\nratios (same run):")
    print("".join(f"{c:>19}" for c in ["bs", *ratios]))
    for row in rows:
        print(f"{row['bs']:>19}" + "".join(f"{f(row):>19.2f}" for f in ratios.values()))
    if options.json:
        with open(options.json, "w") as out:
            json.dump({"device": device, "calls": options.calls, "rows": rows}, out, indent=1)


if __name__ == "__main__":
    main()
