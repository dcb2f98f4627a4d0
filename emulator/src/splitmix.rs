//! splitmix64: the one small generator behind both the scenarios' stable ids and the seeded fault
//! rates, so that a seed (or an id's kind and number) always gives the same numbers.

/// Moves `state` on and returns its next 64 random-looking bits.
pub(crate) fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
