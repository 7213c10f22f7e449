"""Upstream SGLang's TRTLLM graph-metadata and page-table Triton kernels, loaded by path for the differential tests
(test_trtllm_mha.py, test_trtllm_mla.py, test_trtllm_mha_table.py) and the side-by-side benchmark
(bench/upstream_trtllm_mha_bench.py).
Upstream's code is never part of draftjit: the directory DRAFTJIT_UPSTREAM_SGLANG names (a checkout of
sgl-project/sglang, or the files alone at the same relative paths, e.g. .upstream-sglang/, which git ignores) holds

    python/sglang/kernels/ops/kvcache/trtllm_mha_graph_metadata.py    (read at 00a9f468: has skip_page_table)
    python/sglang/kernels/ops/kvcache/trtllm_mla_graph_metadata.py    (read at 2325f4e6; MLA, below)
    python/sglang/kernels/ops/kvcache/kv_indices.py                   (read at 0d7e47be: the FlashMLA grid helpers
                                                                       the MLA file imports)
    python/sglang/kernels/ops/kvcache/trtllm_mha_page_table.py        (read at 252129ae: the eager page table;
                                                                       TABLE, below)

Each is executed on its own, as upstream_sglang.py does for the DSA files: the packages above it become empty stub
modules, so upstream's package __init__.py files (which import the whole server) never run. The MHA file imports only
triton; the MLA file imports sglang.kernels.ops.kvcache.kv_indices by its absolute name, which the stubs resolve.

The module's own names (FILE, FUNCTION, path, missing, load) are the MHA file's; MLA is the MLA file's, the same
names on an upstream_sglang.UpstreamFile, and TABLE the page-table file's (it imports only torch and triton)."""

import upstream_sglang

ENV = upstream_sglang.ENV
KVCACHE = "python/sglang/kernels/ops/kvcache"

MHA = upstream_sglang.UpstreamFile(KVCACHE, "trtllm_mha_graph_metadata.py", "update_trtllm_mha_graph_metadata")
MLA = upstream_sglang.UpstreamFile(KVCACHE, "trtllm_mla_graph_metadata.py", "update_trtllm_mla_graph_metadata",
                                   needs=("kv_indices.py",))
TABLE = upstream_sglang.UpstreamFile(KVCACHE, "trtllm_mha_page_table.py", "build_trtllm_mha_page_table")

FILE, FUNCTION, MODULE = MHA.FILE, MHA.FUNCTION, MHA.MODULE
path, missing, load = MHA.path, MHA.missing, MHA.load  # the MHA module: update_trtllm_mha_graph_metadata, Q_MODE_*
