"""The process lifecycle without a GPU, each case in a fresh interpreter: a fork while another thread compiles and
interpreter exit while daemon threads compile (disk cache off, so the compiles are real), and an import with neither
PyTorch nor NVRTC to be found."""

import os
import subprocess
import sys
import textwrap

import pytest

FORK_WHILE_COMPILING = textwrap.dedent("""
    import os, sys, threading, time
    import draftjit
    draftjit.warmup([1], "sm_90")  # NVRTC loaded and the pipeline built: what is in flight at the fork is a compile
    def compile_on():  # distinct kernels one after another, so that the fork lands inside NVRTC
        for arch in ("sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120"):
            for bs in (300, 600, 1200, 2500):
                draftjit.warmup([bs], arch)
    threading.Thread(target=compile_on, daemon=True).start()
    for fork in range(5):  # several forks at different points of the thread's compiles
        time.sleep(0.15)
        pid = os.fork()
        if pid == 0:  # a normal exit, atexit included: it must not wait for the parent's compile either
            try:
                ok = draftjit.warmup([300], "sm_90")["kernels"] == 1
            except BaseException as error:
                os.write(2, repr(error).encode())
                os._exit(4)
            sys.exit(0 if ok else 3)
        deadline = time.monotonic() + 20
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                print(f"fork {fork}: the forked child was still blocked after 20 s")
                sys.exit(5)
            time.sleep(0.05)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(os.waitstatus_to_exitcode(status))
""")

EXIT_WHILE_COMPILING = textwrap.dedent("""
    import threading, time
    import draftjit
    for bs in (300, 600, 1200, 2500):
        threading.Thread(target=draftjit.warmup, args=([bs], "sm_90"), daemon=True).start()
    time.sleep(0.05)
""")

# Threads that keep releasing and retaking the GIL (memory-cache hits): at exit one is nearly always between the two,
# and Python ends it with pthread_exit when it asks for the GIL back.
EXIT_WHILE_RETAKING_THE_GIL = textwrap.dedent("""
    import threading, time
    import draftjit
    draftjit.warmup([1], "sm_90")
    def warm_again():
        while True:
            draftjit.warmup([1], "sm_90")
    for _ in range(4):
        threading.Thread(target=warm_again, daemon=True).start()
    time.sleep(0.1)
""")


def run_script(source, timeout):
    env = dict(os.environ, DRAFTJIT_DISABLE_DISK_CACHE="1")
    return subprocess.run([sys.executable, "-c", source], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fork_while_another_thread_compiles():
    result = run_script(FORK_WHILE_COMPILING, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("script", [EXIT_WHILE_COMPILING, EXIT_WHILE_RETAKING_THE_GIL], ids=["compiling", "retaking"])
def test_exit_while_daemon_threads_compile(script):
    failures = []
    for run in range(20):
        result = run_script(script, timeout=60)
        if result.returncode != 0:
            failures.append(f"run {run}: rc {result.returncode} {result.stderr[-300:]}")
    assert not failures, "\n".join(failures)


WITHOUT_TORCH_OR_NVRTC = textwrap.dedent("""
    import sys
    sys.modules["torch"] = None  # import torch raises ImportError, as where PyTorch is not installed
    import draftjit
    assert "draftjit_fused(" in draftjit.emit(4)  # rendering needs no NVRTC
    try:
        draftjit.emit(4, ptx=True)
    except draftjit.Error as error:
        print(error)
    else:
        print("compiled without NVRTC")
""")


def test_import_without_torch_and_nvrtc_then_the_first_compile_names_the_search():
    env = dict(os.environ, DRAFTJIT_NVRTC_LIBRARY="/nonexistent/libnvrtc.so.13")
    result = subprocess.run([sys.executable, "-c", WITHOUT_TORCH_OR_NVRTC], env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "DRAFTJIT_NVRTC_LIBRARY" in result.stdout and "/nonexistent/libnvrtc.so.13" in result.stdout, result.stdout
