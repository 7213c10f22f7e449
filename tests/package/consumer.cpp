// Uses only what an installed draftjit offers: the public headers and the library.
#include <draftjit/draftjit.hpp>
#include <draftjit/dsa.hpp>

#include <cstdio>
#include <stdexcept>

int main() {
  draftjit::DraftExtendArgs args;
  args.bs = -1;
  try {
    draftjit::fill_draft_extend_metadata(args, nullptr);
    return 1;
  } catch (const std::invalid_argument& e) {
    std::printf("rejected: %s\n", e.what());
  }
  draftjit::DsaDecodeArgs decode;
  decode.common.bs = draftjit::kMaxDsaBs + 1;
  try {
    draftjit::dsa_decode_metadata(decode, nullptr);
    return 1;
  } catch (const std::invalid_argument& e) {
    std::printf("rejected: %s (dsa status 2 = %s)\n", e.what(), draftjit::describe_dsa_status(2).c_str());
  }
  std::printf("draftjit %s; status 5 = %s; CUDA available: %s\n", draftjit::version(),
              draftjit::describe_status(5).c_str(), draftjit::cuda_available() ? "yes" : "no");
  return 0;
}
