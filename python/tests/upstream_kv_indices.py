"""Upstream SGLang's KV index builders (create_flashinfer_kv_indices_triton, create_flashmla_kv_indices_triton and
their host helpers), loaded by path for the differential tests (test_kv_indices.py, test_flashmla_kv_indices.py) and
the side-by-side benchmark (bench/upstream_kv_indices_bench.py). Upstream's code is never part of draftjit: the
directory DRAFTJIT_UPSTREAM_SGLANG names (a checkout of sgl-project/sglang, or the files alone at the same relative
paths, e.g. .upstream-sglang/, which git ignores) holds

    python/sglang/kernels/ops/kvcache/kv_indices.py    (read at 0d7e47be: token-block parallelism, ENTRY_PAGE_SIZE,
                                                        token_mapping, a run-time req_to_token stride)

It loads as an upstream_sglang.UpstreamFile, under stub packages; it imports only triton."""

import upstream_sglang

ENV = upstream_sglang.ENV
KVCACHE = "python/sglang/kernels/ops/kvcache"
KV_INDICES = upstream_sglang.UpstreamFile(KVCACHE, "kv_indices.py", "create_flashinfer_kv_indices_triton")
FILE = KV_INDICES.FILE
path, missing, load = KV_INDICES.path, KV_INDICES.missing, KV_INDICES.load
