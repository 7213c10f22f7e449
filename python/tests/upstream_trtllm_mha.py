"""Upstream SGLang's TRTLLM graph-metadata Triton kernels, loaded by path for the differential tests
(test_trtllm_mha.py, test_trtllm_mla.py) and the side-by-side benchmark (bench/upstream_trtllm_mha_bench.py).
Upstream's code is never part of draftjit: the directory DRAFTJIT_UPSTREAM_SGLANG names (a checkout of
sgl-project/sglang, or the files alone at the same relative paths, e.g. .upstream-sglang/, which git ignores) holds

    python/sglang/kernels/ops/kvcache/trtllm_mha_graph_metadata.py    (read at 00a9f468: has skip_page_table)
    python/sglang/kernels/ops/kvcache/trtllm_mla_graph_metadata.py    (read at 2325f4e6; MLA, below)
    python/sglang/kernels/ops/kvcache/kv_indices.py                   (read at 0d7e47be: the FlashMLA grid helpers
                                                                       the MLA file imports)

Each is executed on its own, as upstream_sglang.py does for the DSA files: the packages above it become empty stub
modules, so upstream's package __init__.py files (which import the whole server) never run. The MHA file imports only
triton; the MLA file imports sglang.kernels.ops.kvcache.kv_indices by its absolute name, which the stubs resolve.

The module's own names (FILE, FUNCTION, path, missing, load) are the MHA file's; MLA is the MLA file's, the same
names on a KvcacheFile."""

import os

import upstream_sglang

ENV = upstream_sglang.ENV
KVCACHE = "python/sglang/kernels/ops/kvcache"
PACKAGE = "sglang.kernels.ops.kvcache"

_loaded = {}  # module name -> (base, module)


class KvcacheFile:
    """One upstream file of KVCACHE whose function the tests call: FILE (with `needs`, the files it imports from the
    same folder), FUNCTION, and the loader's path, missing and load."""

    ENV = ENV
    KVCACHE = KVCACHE

    def __init__(self, file, function, needs=()):
        self.FILE, self.FUNCTION, self.needs = file, function, needs
        self.MODULE = PACKAGE + "." + file.removesuffix(".py")

    def path(self, base=None):
        """Where upstream's file is under base (default: DRAFTJIT_UPSTREAM_SGLANG), or None without one."""
        return upstream_sglang.file_path(KVCACHE, self.FILE, base)

    def missing(self):
        """Why upstream's kernel cannot run here (a sentence naming what is missing), or None."""
        return next((why for why in (upstream_sglang.file_missing(KVCACHE, file)
                                     for file in (self.FILE, *self.needs)) if why), None)

    def load(self, base=None):
        """Upstream's module from base (default: DRAFTJIT_UPSTREAM_SGLANG), loaded once per process: its name is
        fixed (sglang.kernels.ops.kvcache...), so one process holds one upstream. The stub packages are
        upstream_sglang's, so the DSA files may load beside it from the same directory."""
        base = os.path.abspath(base or upstream_sglang.root())
        if self.MODULE not in _loaded:
            parts = PACKAGE.split(".")
            for depth in range(1, len(parts) + 1):
                upstream_sglang._stub_package(".".join(parts[:depth]), os.path.join(base, "python", *parts[:depth]))
            _loaded[self.MODULE] = (base, upstream_sglang._load_file(self.MODULE, self.path(base)))
        elif _loaded[self.MODULE][0] != base:
            raise RuntimeError(f"upstream already loaded from {_loaded[self.MODULE][0]}, not {base}")
        return _loaded[self.MODULE][1]


MHA = KvcacheFile("trtllm_mha_graph_metadata.py", "update_trtllm_mha_graph_metadata")
MLA = KvcacheFile("trtllm_mla_graph_metadata.py", "update_trtllm_mla_graph_metadata", needs=("kv_indices.py",))

FILE, FUNCTION, MODULE = MHA.FILE, MHA.FUNCTION, MHA.MODULE
path, missing, load = MHA.path, MHA.missing, MHA.load  # the MHA module: update_trtllm_mha_graph_metadata, Q_MODE_*
