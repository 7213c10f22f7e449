"""Upstream SGLang's TRTLLM-MHA graph-metadata Triton kernel, loaded by path for the differential tests
(test_trtllm_mha.py) and the side-by-side benchmark (bench/upstream_trtllm_mha_bench.py). Upstream's code is never
part of draftjit: the directory DRAFTJIT_UPSTREAM_SGLANG names (a checkout of sgl-project/sglang, or the files alone
at the same relative paths, e.g. .upstream-sglang/, which git ignores) holds

    python/sglang/kernels/ops/kvcache/trtllm_mha_graph_metadata.py    (read at 00a9f468: has skip_page_table)

It is executed on its own, as upstream_sglang.py does for the DSA files: the packages above it become empty stub
modules, so upstream's package __init__.py files (which import the whole server) never run. The file imports only
triton, so it needs no other stub."""

import upstream_sglang

ENV = upstream_sglang.ENV
KVCACHE = "python/sglang/kernels/ops/kvcache"
FILE = "trtllm_mha_graph_metadata.py"
FUNCTION = "update_trtllm_mha_graph_metadata"


def path(base=None):
    """Where upstream's file is under base (default: DRAFTJIT_UPSTREAM_SGLANG), or None without one."""
    return upstream_sglang.file_path(KVCACHE, FILE, base)


def missing():
    """Why upstream's kernel cannot run here (a sentence naming what is missing), or None."""
    return upstream_sglang.file_missing(KVCACHE, FILE)


def load(base=None):
    """Upstream's module (update_trtllm_mha_graph_metadata, the Q_MODE_* constants) from base (default:
    DRAFTJIT_UPSTREAM_SGLANG), loaded once per process by upstream_sglang.load_module, so the DSA and KV-index files
    may load beside it from the same directory."""
    return upstream_sglang.load_module(KVCACHE, FILE, base)
