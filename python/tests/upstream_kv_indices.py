"""Upstream SGLang's KV index builders (create_flashinfer_kv_indices_triton, create_flashmla_kv_indices_triton and
their host helpers), loaded by path for the differential tests (test_kv_indices.py, test_flashmla_kv_indices.py) and
the side-by-side benchmark (bench/upstream_kv_indices_bench.py). Upstream's code is never part of draftjit: the
directory DRAFTJIT_UPSTREAM_SGLANG names (a checkout of sgl-project/sglang, or the files alone at the same relative
paths, e.g. .upstream-sglang/, which git ignores) holds

    python/sglang/kernels/ops/kvcache/kv_indices.py    (read at 0d7e47be: token-block parallelism, ENTRY_PAGE_SIZE,
                                                        token_mapping, a run-time req_to_token stride)

It loads through upstream_sglang.load_module, under stub packages; it imports only triton."""

import upstream_sglang

ENV = upstream_sglang.ENV
KVCACHE = "python/sglang/kernels/ops/kvcache"
FILE = "kv_indices.py"


def path(base=None):
    """Where upstream's file is under base (default: DRAFTJIT_UPSTREAM_SGLANG), or None without one."""
    return upstream_sglang.file_path(KVCACHE, FILE, base)


def missing():
    """Why upstream's kernels cannot run here (a sentence naming what is missing), or None."""
    return upstream_sglang.file_missing(KVCACHE, FILE)


def load(base=None):
    """Upstream's module, loaded once per process."""
    return upstream_sglang.load_module(KVCACHE, FILE, base)
