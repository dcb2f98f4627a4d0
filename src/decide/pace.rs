//! How many units of decision work are in flight: more while the service answers well, fewer as
//! soon as it pushes back. A unit that saw a 429 or a 503 halves the limit (never below one); a
//! unit that did not adds one (never above `maxConcurrency`). Starting low and adding one per
//! unit that went well doubles the limit about once a round trip, so a large run reaches the
//! maximum within a few round trips, and a throttled one backs off at once. Retry-After is still
//! honoured per item (`rounds.rs`): pacing only decides when the next unit may start.

/// Units in flight when a run starts (or `maxConcurrency`, when lower).
const START: usize = 4;

pub(crate) struct Pace {
    limit: usize,
    max: usize,
}

impl Pace {
    pub(crate) fn new(max_concurrency: usize) -> Pace {
        let max = max_concurrency.max(1);
        Pace { limit: START.min(max), max }
    }

    /// How many units may be in flight now.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// A unit finished; `pushed_back` when the service answered any of its calls 429 or 503.
    pub(crate) fn on_unit_done(&mut self, pushed_back: bool) {
        self.limit = if pushed_back { (self.limit / 2).max(1) } else { (self.limit + 1).min(self.max) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_one_per_good_unit_up_to_the_maximum_and_halves_on_pushback() {
        let mut p = Pace::new(32);
        assert_eq!(p.limit(), 4);
        for _ in 0..10 {
            p.on_unit_done(false);
        }
        assert_eq!(p.limit(), 14);
        p.on_unit_done(true);
        assert_eq!(p.limit(), 7);
        for _ in 0..100 {
            p.on_unit_done(false);
        }
        assert_eq!(p.limit(), 32);
        for _ in 0..10 {
            p.on_unit_done(true);
        }
        assert_eq!(p.limit(), 1, "never below one");
        assert_eq!(Pace::new(2).limit(), 2, "never above the maximum, from the start");
    }
}
