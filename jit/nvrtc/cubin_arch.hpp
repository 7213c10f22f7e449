#pragma once
// What a cubin is for, read from its ELF header: the check that a compile's output is for the arch it is stored
// under, whatever the options said (ptxas options such as -Xptxas=--gpu-name=sm_100 retarget it unseen).
#include <optional>
#include <string_view>

namespace draftjit::jit {

// The SM number (90 for sm_90) of a CUDA cubin: an ELF of machine EM_CUDA (190) whose e_flags carry it, in bits
// 0-7 up to ELF ABI version 7 (CUDA 12.x and older) and in bits 8-15 from version 8 (CUDA 12.8+'s new ABI, which
// CUDA 13's NVRTC writes for every arch: sm_90 gives 0x6005a04, sm_100 0x6006402). nullopt when bytes are not a
// 32- or 64-bit little-endian EM_CUDA ELF whose header fits.
std::optional<int> cubin_sm(std::string_view bytes);

}  // namespace draftjit::jit
