/* rng.h — splitmix32, the small deterministic generator behind generated test data: the same seed gives the
 * same applications and portraits on every machine, and each caller keeps its own state (no globals) */
#pragma once

#include <stdint.h>

static inline uint32_t producer_splitmix32(uint32_t *state)
{
    uint32_t z = (*state += 0x9E3779B9u);
    z = (z ^ (z >> 16)) * 0x85EBCA6Bu;
    z = (z ^ (z >> 13)) * 0xC2B2AE35u;
    return z ^ (z >> 16);
}
