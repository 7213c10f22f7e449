"""Upstream SGLang's FA3 metadata Triton kernels, loaded by path for the differential tests (test_fa3.py).
Upstream's code is never part of draftjit: the directory DRAFTJIT_UPSTREAM_SGLANG names (a checkout of
sgl-project/sglang, or the files alone at the same relative paths, e.g. .upstream-sglang/, which git ignores) holds

    python/sglang/kernels/ops/attention/metadata.py    (read at 1a366c6c: normal_decode_set_metadata with
                                                        skip_page_table and the unified pool's v2p table)

It is executed on its own, as upstream_sglang.py does for the DSA files: the packages above it become empty stub
modules. Its SWA path imports two pool classes inside normal_decode_set_metadata and asserts the pool is one of them
(SWAKVPool from sglang.srt.mem_cache.swa_memory_pool; UnifiedSWAKVPool from ...unified_memory_pool when the pool's
full_to_swa_index_mapping is None): those modules are stubs here, and swa_pool() / unified_pool() make pools of
the stub classes holding only what upstream reads."""

import os
import sys
import types

import upstream_sglang

ENV = upstream_sglang.ENV
ATTENTION = upstream_sglang.ATTENTION
FILE = "metadata.py"
MODULE = upstream_sglang.PACKAGE + ".metadata"
FUNCTION = "normal_decode_set_metadata"
SPEC_BLOCK = 256  # prepare_swa_spec_page_table_triton's BLOCK_N: its grid covers whole blocks of LEN_A + LEN_B columns
MEM_CACHE = "sglang.srt.mem_cache"


def path(base=None):
    """Where upstream's file is under base (default: DRAFTJIT_UPSTREAM_SGLANG), or None without one."""
    return upstream_sglang.file_path(ATTENTION, FILE, base)


def missing():
    """Why upstream's kernel cannot run here (a sentence naming what is missing), or None."""
    return upstream_sglang.file_missing(ATTENTION, FILE)


def _stub_module(name, **attributes):
    """A plain stub module (no file) holding attributes, or the one already stubbed."""
    existing = sys.modules.get(name)
    if existing is not None:
        if not getattr(existing, "__draftjit_stub__", False):
            raise RuntimeError(f"{name} is already imported; load upstream's files in a process without SGLang")
        return existing
    module = types.ModuleType(name)
    module.__dict__.update(attributes, __draftjit_stub__=True)
    sys.modules[name] = module
    return module


class SWAKVPool:
    """Stands for upstream's SWAKVPool: only the attribute normal_decode_set_metadata reads."""

    def __init__(self, full_to_swa_index_mapping):
        self.full_to_swa_index_mapping = full_to_swa_index_mapping


class UnifiedSWAKVPool:
    """Stands for upstream's UnifiedSWAKVPool: no full_to_swa_index_mapping, an SWA allocator's v2p table."""

    def __init__(self, virtual_to_physical):
        self.full_to_swa_index_mapping = None
        self._swa_allocator = types.SimpleNamespace(virtual_to_physical=virtual_to_physical)


def swa_pool(mapping):
    return SWAKVPool(mapping)


def unified_pool(virtual_to_physical):
    return UnifiedSWAKVPool(virtual_to_physical)


_loaded = None


def load(base=None):
    """Upstream's module (normal_decode_set_metadata, draft_extend_set_metadata) from base (default:
    DRAFTJIT_UPSTREAM_SGLANG), loaded once per process under its fixed name, beside the stub pool modules."""
    global _loaded
    base = os.path.abspath(base or upstream_sglang.root())
    if _loaded is None:
        parts = upstream_sglang.PACKAGE.split(".")
        for depth in range(1, len(parts) + 1):
            upstream_sglang._stub_package(".".join(parts[:depth]), os.path.join(base, "python", *parts[:depth]))
        for package in ("sglang.srt", MEM_CACHE):
            upstream_sglang._stub_package(package, os.path.join(base, "python", *package.split(".")))
        _stub_module(MEM_CACHE + ".swa_memory_pool", SWAKVPool=SWAKVPool)
        _stub_module(MEM_CACHE + ".unified_memory_pool", UnifiedSWAKVPool=UnifiedSWAKVPool)
        _loaded = (base, upstream_sglang._load_file(MODULE, path(base)))
    elif _loaded[0] != base:
        raise RuntimeError(f"upstream already loaded from {_loaded[0]}, not {base}")
    return _loaded[1]
