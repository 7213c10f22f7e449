"""Upstream SGLang's DSA metadata Triton kernels, loaded by path for the differential test (test_upstream_dsa.py)
and the side-by-side benchmark (bench/upstream_dsa_bench.py). Upstream's code is never part of draftjit: the
directory named by DRAFTJIT_UPSTREAM_SGLANG holds a copy (a checkout of sgl-project/sglang, or the files alone at the
same relative paths, e.g. .upstream-sglang/, which git ignores):

    python/sglang/kernels/ops/attention/dsa_metadata.py                  ("main": real_page_size)
    python/sglang/kernels/ops/attention/dsa_kpool_metadata/{scan,decode,verify,draft_extend}.py
                                                                         ("kpool": physical_page_size; optional)

The files are executed on their own: the packages above them become empty stub modules with __path__ set, so
upstream's package __init__.py files (which import the whole server) never run. The kpool modules import
sglang.kernels.ops.attention.dsa_kpool_metadata.scan by its absolute name, which the stubs resolve."""

import importlib.machinery
import importlib.util
import inspect
import numbers
import os
import sys
import types

ENV = "DRAFTJIT_UPSTREAM_SGLANG"
ATTENTION = "python/sglang/kernels/ops/attention"
PACKAGE = "sglang.kernels.ops.attention"
KPOOL = PACKAGE + ".dsa_kpool_metadata"
MAIN_FILE = "dsa_metadata.py"
KPOOL_FILES = ("scan", "decode", "verify", "draft_extend")
MODE_MODULES = {"decode": "decode", "verify": "verify", "extend": "draft_extend"}
FUNCTIONS = {"decode": "fused_dsa_decode_metadata", "verify": "fused_dsa_target_verify_metadata",
             "extend": "fused_dsa_draft_extend_metadata"}
# The page size's keyword in each file; everything else is named alike in both.
PAGE_SIZE_KEYWORD = {"main": "real_page_size", "kpool": "physical_page_size"}


def root():
    """The directory DRAFTJIT_UPSTREAM_SGLANG names, or None."""
    return os.environ.get(ENV) or None


def _attention_dir(base):
    return os.path.join(base, *ATTENTION.split("/"))


def has_kpool(base):
    folder = os.path.join(_attention_dir(base), "dsa_kpool_metadata")
    return all(os.path.isfile(os.path.join(folder, name + ".py")) for name in KPOOL_FILES)


def missing():
    """Why upstream cannot run here (a sentence naming what is missing), or None."""
    return file_missing(ATTENTION, MAIN_FILE)


def file_path(folder, file, base=None):
    """Where upstream's folder/file is under base (default: DRAFTJIT_UPSTREAM_SGLANG), or None without one."""
    base = base or root()
    return None if base is None else os.path.join(base, *folder.split("/"), file)


def file_missing(folder, file):
    """Why upstream's kernel in folder/file cannot run here (a sentence naming what is missing), or None."""
    base = root()
    if base is None:
        return f"needs {ENV} naming a directory with {folder}/{file} (see .upstream-sglang/)"
    if not os.path.isfile(file_path(folder, file, base)):
        return f"{ENV}={base} has no {folder}/{file}"
    for module, what in (("torch", "PyTorch"), ("triton", "Triton")):
        try:
            __import__(module)
        except ImportError as error:
            return f"needs {what} for upstream's kernel ({error})"
    import torch
    if not torch.cuda.is_available():
        return "needs a CUDA device"
    return None


def _stub_already(name):
    """The stub module of this name made before, or None; a real module of the name (SGLang imported) is an error."""
    existing = sys.modules.get(name)
    if existing is not None and not getattr(existing, "__draftjit_stub__", False):
        raise RuntimeError(f"{name} is already imported from {getattr(existing, '__file__', '?')}; load "
                           f"upstream's files in a process that has not imported SGLang")
    return existing


def _stub_package(name, path):
    """An empty package module at `path`, so that submodules load from there without its __init__.py."""
    existing = _stub_already(name)
    if existing is not None:
        return existing
    module = types.ModuleType(name)
    module.__path__ = [path]
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module.__spec__.submodule_search_locations = [path]
    module.__draftjit_stub__ = True
    sys.modules[name] = module
    return module


def _load_file(name, path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before executing it: Triton's JIT finds its globals through the module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


class Upstream:
    """Upstream's three functions per variant: functions("main") from dsa_metadata.py, functions("kpool") from
    dsa_kpool_metadata/ (None where that folder is missing)."""

    def __init__(self, base):
        self.base = base
        attention = _attention_dir(base)
        parts = PACKAGE.split(".")
        for depth in range(1, len(parts) + 1):
            folder = os.path.join(base, "python", *parts[:depth])
            _stub_package(".".join(parts[:depth]), folder)
        main = _load_file(f"{PACKAGE}.dsa_metadata", os.path.join(attention, MAIN_FILE))
        self._functions = {"main": {mode: getattr(main, name) for mode, name in FUNCTIONS.items()}, "kpool": None}
        if has_kpool(base):
            folder = os.path.join(attention, "dsa_kpool_metadata")
            _stub_package(KPOOL, folder)
            modules = {name: _load_file(f"{KPOOL}.{name}", os.path.join(folder, name + ".py")) for name in KPOOL_FILES}
            self._functions["kpool"] = {mode: getattr(modules[MODE_MODULES[mode]], FUNCTIONS[mode])
                                        for mode in FUNCTIONS}

    def functions(self, variant):
        return self._functions[variant]


_loaded = None


def load(base=None):
    """Upstream's functions from `base` (default: DRAFTJIT_UPSTREAM_SGLANG), loaded once per process: the module
    names are fixed (sglang.kernels...), so one process holds one upstream."""
    global _loaded
    base = os.path.abspath(base or root())
    if _loaded is None:
        _loaded = Upstream(base)
    elif _loaded.base != base:
        raise RuntimeError(f"upstream already loaded from {_loaded.base}, not {base}")
    return _loaded


def _stub_module(name, attributes):
    """A plain module of these attributes (an upstream import the tested file needs only a few names of)."""
    existing = _stub_already(name)
    if existing is not None:
        return existing
    module = types.ModuleType(name)
    module.__dict__.update(attributes, __draftjit_stub__=True)
    sys.modules[name] = module
    return module


_files = {}  # module name -> (base, module), for UpstreamFile


class UpstreamFile:
    """One upstream file whose function the tests and benchmarks call: FOLDER (a path under the checkout, e.g.
    "python/sglang/kernels/ops/kvcache"), FILE (with `needs`, the files it imports from the same folder), FUNCTION,
    and path, missing and load. `stubs` maps the names of modules it imports (beyond triton and torch) to the
    attributes a stub of each holds; the packages above them and above FOLDER become stub packages."""

    ENV = ENV

    def __init__(self, folder, file, function, needs=(), stubs=None):
        self.FOLDER, self.FILE, self.FUNCTION, self.needs, self.stubs = folder, file, function, needs, stubs or {}
        self.PACKAGE = folder.removeprefix("python/").replace("/", ".")
        self.MODULE = self.PACKAGE + "." + file.removesuffix(".py")

    def path(self, base=None):
        """Where upstream's file is under base (default: DRAFTJIT_UPSTREAM_SGLANG), or None without one."""
        return file_path(self.FOLDER, self.FILE, base)

    def missing(self):
        """Why upstream's kernel cannot run here (a sentence naming what is missing), or None."""
        return next((why for why in (file_missing(self.FOLDER, file) for file in (self.FILE, *self.needs)) if why),
                    None)

    def load(self, base=None):
        """Upstream's module from base (default: DRAFTJIT_UPSTREAM_SGLANG), loaded once per process: its name is
        fixed (sglang.kernels...), so one process holds one upstream; the stub packages are shared by every file."""
        base = os.path.abspath(base or root())
        if self.MODULE not in _files:
            for package in [self.PACKAGE] + [name.rsplit(".", 1)[0] for name in self.stubs]:
                parts = package.split(".")
                for depth in range(1, len(parts) + 1):
                    _stub_package(".".join(parts[:depth]), os.path.join(base, "python", *parts[:depth]))
            for name, attributes in self.stubs.items():
                _stub_module(name, attributes)
            _files[self.MODULE] = (base, _load_file(self.MODULE, self.path(base)))
        elif _files[self.MODULE][0] != base:
            raise RuntimeError(f"upstream already loaded from {_files[self.MODULE][0]}, not {base}")
        return _files[self.MODULE][1]


def fitted_keywords(function, keywords, arguments):
    """keywords for upstream's function (a Python function or a Triton kernel), whose file may predate some of them.
    One it has no parameter for is left out where its value is its default in arguments (the contract's (name,
    default) pairs, inspect.Parameter.empty for none: the contract without it); otherwise the calling test is
    skipped, naming it. The family's test of upstream's signature fails on such a file, saying what it lacks, so the
    skips hide no mismatch."""
    python_function = function
    while hasattr(python_function, "fn"):  # a Triton kernel's, under any wrapper (an autotuner holds the kernel)
        python_function = python_function.fn
    parameters = inspect.signature(python_function).parameters
    defaults = {name: default for name, default in arguments if default is not inspect.Parameter.empty}
    fitted = {}
    for name, value in keywords.items():
        if name in parameters:
            fitted[name] = value
        elif not (name in defaults and _is_default(value, defaults[name])):
            import pytest  # the benchmarks import this module without it
            pytest.skip(f"upstream's {python_function.__name__} ({root()}) has no parameter {name}: its file "
                        f"predates that part of the contract draftjit follows (the family's signature test says "
                        f"what it lacks)")
    return fitted


def _is_default(value, default):
    return value is default or (isinstance(value, numbers.Number) and isinstance(default, numbers.Number)
                                and value == default)
