#pragma once
// Whether this process may still compile: servers warm up, call freeze(), and from then on a compile means a kernel
// was missed at startup. DRAFTJIT_JIT (read once, at freeze() or the first compile) says what a compile after
// freeze() does: "strict" throws draftjit::Error before NVRTC runs, "warn" logs it and compiles; unset (or "allow")
// compiles silently. Any other value (jit/environment's rule: any case, blanks ignored) fails closed: freeze() and
// every compile after it throw draftjit::Error naming it. Disk and memory hits are never affected. freeze() is
// process state: a forked child inherits it.
#include <string_view>

namespace draftjit::jit {

enum class JitMode { Allow, Warn, Strict };

void freeze();
bool frozen();

// DRAFTJIT_JIT, parsed at the first call; throws draftjit::Error, at every call, when it holds no mode.
JitMode jit_mode();

// Called by the pipeline just before it compiles key (its file stem): throws or logs as above.
void check_compile_allowed(std::string_view key);

// For tests: as if DRAFTJIT_JIT held value (nullptr: unset), and not frozen.
void reset_compile_policy_for_test(const char* value);

}  // namespace draftjit::jit
