#pragma once
// Which compiled variant of a vectorised kernel runs: the label-noise SGD step
// (dynamics/label_noise_sgd.hpp) and the fixed-order matrix products (numerics/ordered_product.hpp) are each built
// twice, for baseline x86-64 (SSE2, 2 doubles per instruction) and for AVX2 (4 doubles), and chosen
// at run time. Both variants perform the same IEEE operations in the same order, with no fused
// multiply-add, so they give the same bits; the choice is one of speed only.

namespace zeroloss {

// Auto picks AVX2 when the processor has it. Requesting Avx2 on a processor without it is an
// InputError wherever an InstructionSet is accepted.
enum class InstructionSet { Auto, Baseline, Avx2 };

// "auto", "baseline", "avx2".
const char* to_string(InstructionSet set);

// True when the processor running this program supports AVX2.
bool cpu_has_avx2();

// Auto resolved on this processor: true for the AVX2 variant. Throws InputError naming `who` when
// Avx2 is requested on a processor without AVX2.
bool use_avx2(InstructionSet set, const char* who);

}  // namespace zeroloss
