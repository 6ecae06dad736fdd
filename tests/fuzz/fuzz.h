/* fuzz.h — what every fuzz target shares: libFuzzer's entry point and a check that holds in every build type */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* unlike assert(), also checked in release builds (the replay tests run in RelWithDebInfo) */
#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            abort();                                                                                         \
    } while (0)
