"""Issue 18 without a GPU, each case in a fresh interpreter (the variables are read once per process): draftjit's
events in Python's logging, stats(), and freeze() with DRAFTJIT_JIT."""

import os
import subprocess
import sys
import textwrap

LOG_SCRIPT = textwrap.dedent("""
    import logging, os, sys
    logging.basicConfig(level=logging.INFO, format="%(name)s|%(levelname)s|%(message)s", stream=sys.stdout)
    import draftjit
    draftjit.warmup([5], "sm_90")
    pid = os.fork()
    if pid == 0:  # the child forwards its own events
        draftjit.warmup([6], "sm_90")
        sys.exit(0)
    os.waitpid(pid, 0)
""")

STATS_SCRIPT = textwrap.dedent("""
    import draftjit
    draftjit.warmup([5, 6], "sm_90")
    first = draftjit.stats()
    assert first["compiles"] == 2, first
    assert first["compile_ms_max"] > 0 and first["compile_ms_total"] >= first["compile_ms_max"], first
    assert first["bytes_stored"] > 0 and first["disk_hits"] == 0, first
    draftjit.reset_stats()
    draftjit.warmup([5], "sm_90")
    second = draftjit.stats()
    assert second["compiles"] == 0 and second["memory_hits"] == 1 and second["bytes_stored"] == 0, second
    print("ok")
""")

STRICT_SCRIPT = textwrap.dedent("""
    import draftjit
    draftjit.warmup([5], "sm_90")
    draftjit.freeze()
    draftjit.warmup([5], "sm_90")  # warmed up before the freeze: no compile
    try:
        draftjit.warmup([6], "sm_90")
    except draftjit.Error as error:
        print(error)
    else:
        print("compiled after freeze")
""")


def run_script(source, **env):
    return subprocess.run([sys.executable, "-c", source], env=dict(os.environ, **env), capture_output=True,
                          text=True, timeout=120)


def test_events_go_to_the_draftjit_logger_in_the_parent_and_in_a_forked_child(tmp_path):
    result = run_script(LOG_SCRIPT, DRAFTJIT_LOG="info", DRAFTJIT_CACHE_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("draftjit|INFO|nvrtc: ") for line in lines), result.stdout
    for bs in (5, 6):
        assert any(line.startswith(f"draftjit|INFO|compile: fused_unrolled.bs{bs}.") and "(python)" in line
                   for line in lines), result.stdout
    assert "draftjit: info:" not in result.stderr, result.stderr  # not also written to stderr by the C++ side


def test_stats_count_compiles_and_hits_and_reset(tmp_path):
    result = run_script(STATS_SCRIPT, DRAFTJIT_CACHE_DIR=str(tmp_path))
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


def test_strict_mode_refuses_a_compile_after_freeze(tmp_path):
    result = run_script(STRICT_SCRIPT, DRAFTJIT_JIT="strict", DRAFTJIT_CACHE_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "DRAFTJIT_JIT=strict" in result.stdout and "fused_unrolled.bs6." in result.stdout, result.stdout


def test_warn_mode_logs_a_compile_after_freeze(tmp_path):
    result = run_script(STRICT_SCRIPT, DRAFTJIT_JIT="warn", DRAFTJIT_CACHE_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "compiled after freeze" in result.stdout, result.stdout
    assert "compile after freeze: fused_unrolled.bs6." in result.stderr, result.stderr  # logging's last resort
