# Every test process gets its own disk cache: set before draftjit's pipeline first reads it.
import os
import tempfile

os.environ["DRAFTJIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="draftjit-pytest-")
os.environ.pop("DRAFTJIT_DISABLE_DISK_CACHE", None)
os.environ.pop("DRAFTJIT_CACHE_PATH", None)
