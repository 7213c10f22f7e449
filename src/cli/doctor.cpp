#include <fmt/format.h>

#include "commands.hpp"
#include "doctor.hpp"

namespace draftjit::cli {

int run_doctor(const Args& args) {
  const Options options(args, {}, {});  // takes nothing: rejects stray arguments
  const DoctorReport report = doctor();
  fmt::print("{}", report.text);
  return report.ok ? 0 : 1;
}

}  // namespace draftjit::cli
