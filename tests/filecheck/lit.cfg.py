# lit configuration for the FileCheck tests over `draftjit emit`.
import os

import lit.formats

config.name = "draftjit"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.draftjit_exec_root
config.substitutions.append(("%draftjit", config.draftjit_cli))
config.environment["PATH"] = os.pathsep.join([config.llvm_tools_dir, config.environment.get("PATH", "")])
# emit compiles with NVRTC directly; keep the tests away from the user's disk cache all the same.
config.environment["DRAFTJIT_DISABLE_DISK_CACHE"] = "1"
