"""The per-graph-node floor of a kernel that does nothing, by how it is built and launched: Triton's empty kernel
(what bench/side_by_side.py reports as "empty kernel"), and NVRTC kernels through CuPy's RawKernel (draftjit's
compiler and launch path: cuModuleLoadData and cuLaunchKernel) with no parameter or with a by-value parameter struct
of draftjit's sizes, one block of 128 or 256 threads, or as many blocks as draftjit's small calls launch. Each kernel
is captured 20 times into one CUDA graph and replayed; the figure is GPU time per node (CUDA events), the median of
--repeats. This separates the floor draftjit's small calls sit on (1.7-2.1 us per node in docs/PERF.md) from what
their kernels do.

usage: python3 bench/launch_floor.py [--replays N] [--repeats R] [--json PATH]"""

import argparse
import json
import statistics
import sys

NODES = 20


def graph_node_us(launch, replays, repeats):
    """GPU time per node of a graph of NODES launches, the median of repeats."""
    import torch
    torch.cuda.synchronize()
    launch()  # loads and compiles outside the capture
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(NODES):
            launch()
    graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(replays):
            graph.replay()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1000.0 / (replays * NODES))
    return statistics.median(times)


def triton_empty():
    import triton

    @triton.jit
    def empty(x):
        pass

    return lambda: empty[(1,)](0)


def nvrtc_empty(param_bytes, threads, blocks):
    """An NVRTC kernel of param_bytes of int64 parameters (draftjit passes one by-value struct of that size) that
    returns at once, launched on torch's current stream."""
    import cupy
    import numpy as np
    import torch
    count = param_bytes // 8
    params = ", ".join(f"long long a{i}" for i in range(count))
    source = f"extern \"C\" __global__ void empty({params}) {{ }}"
    kernel = cupy.RawKernel(source, "empty")
    args = tuple(np.int64(i) for i in range(count))

    def launch():
        with cupy.cuda.ExternalStream(torch.cuda.current_stream().cuda_stream):
            kernel((blocks,), (threads,), args)
    return launch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json")
    options = parser.parse_args(argv)
    try:
        import cupy  # noqa: F401  (imported here to say what is missing before any measurement)
        import torch
        import triton  # noqa: F401
    except ImportError as error:
        sys.exit(f"launch_floor: needs PyTorch, Triton and CuPy ({error})")
    variants = [("Triton empty kernel", triton_empty())]
    for param_bytes, threads, blocks in ((0, 128, 1), (0, 256, 1), (224, 128, 1), (224, 256, 1), (224, 256, 5),
                                         (224, 256, 132)):
        name = f"NVRTC, {param_bytes}-byte parameter, {blocks} x {threads}"
        variants.append((name, nvrtc_empty(param_bytes, threads, blocks)))
    results = {name: graph_node_us(launch, options.replays, options.repeats) for name, launch in variants}
    print(f"{torch.cuda.get_device_name()}: GPU us per node of a {NODES}-node graph, median of {options.repeats}")
    for name, us in results.items():
        print(f"  {name:45s} {us:6.2f}")
    if options.json:
        with open(options.json, "w") as out:
            json.dump({"device": torch.cuda.get_device_name(), "us_per_node": results}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
