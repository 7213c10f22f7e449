"""Upstream SGLang's EAGLE cache-location Triton kernels, loaded by path for the differential test (test_eagle.py)
and the side-by-side benchmark (bench/upstream_eagle_bench.py). Upstream's code is never part of draftjit: the
directory DRAFTJIT_UPSTREAM_SGLANG names (a checkout of sgl-project/sglang, or the files alone at the same relative
paths, e.g. .upstream-sglang/, which git ignores) holds

    python/sglang/kernels/ops/speculative/cache_locs.py    (read at 15b72bd8: assign_draft_cache_locs_contiguous,
                                                            generate_draft_decode_kv_indices)

It is executed on its own under stub packages (upstream_sglang.UpstreamFile). At import it calls
sglang.srt.utils' platform tests and imports next_power_of_2 from it: a stub module answers them as a CUDA machine
would (is_cuda alone true), so no other upstream module is imported (its CPU path's sgl_kernel import and the
platform lookup of its other functions never run)."""

import upstream_sglang

ENV = upstream_sglang.ENV
SPECULATIVE = "python/sglang/kernels/ops/speculative"
PLATFORM = {"is_cpu": lambda: False, "is_cuda": lambda: True, "is_hip": lambda: False, "is_musa": lambda: False,
            "is_npu": lambda: False, "is_xpu": lambda: False,
            "next_power_of_2": lambda n: 1 << (n - 1).bit_length() if n > 0 else 1}

CACHE_LOCS = upstream_sglang.UpstreamFile(SPECULATIVE, "cache_locs.py", "assign_draft_cache_locs_contiguous",
                                          stubs={"sglang.srt.utils": PLATFORM})
# The same file (one module per process), its draft decode KV indices kernel.
DRAFT_KV = upstream_sglang.UpstreamFile(SPECULATIVE, "cache_locs.py", "generate_draft_decode_kv_indices",
                                        stubs={"sglang.srt.utils": PLATFORM})
