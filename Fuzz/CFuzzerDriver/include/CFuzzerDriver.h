#ifndef PARD_FUZZER_DRIVER_H
#define PARD_FUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver (`LLVMFuzzerRunDriver`, linked by `-sanitize=fuzzer`) over `test_one_input`
/// with the process's arguments; returns its exit status. SwiftPM gives the executable its own `main`
/// (the Swift one), so libFuzzer's `main` is not used.
int pard_fuzz_run(int argc, char **argv, int (*test_one_input)(const uint8_t *data, size_t size));

#endif
