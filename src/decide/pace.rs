//! How many units of decision work are in flight: more while the service answers well, fewer when
//! it pushes back. A unit the service answered without a 429 or 503 adds one (never above
//! `maxConcurrency`); a unit that saw one halves the limit, once per generation: units that
//! started before the last halving report the same congestion and do not halve it again. The
//! limit never falls below the eight a run starts with, so a service that throttles every few
//! calls still has eight batches in flight (as many as before pacing), each honouring its own Retry-After (`rounds.rs`).
//! Adding one per good unit doubles the limit about once a round trip: a large run reaches the
//! maximum within a few round trips.

/// Units in flight when a run starts, and the fewest after (or `maxConcurrency`, when lower).
const START: usize = 8;

pub(crate) struct Pace {
    limit: usize,
    floor: usize,
    max: usize,
    /// Bumped at each halving; a unit carries the generation it started in.
    generation: u64,
}

impl Pace {
    pub(crate) fn new(max_concurrency: usize) -> Pace {
        let max = max_concurrency.max(1);
        Pace { limit: START.min(max), floor: START.min(max), max, generation: 0 }
    }

    /// How many units may be in flight now.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// The generation a unit starting now belongs to.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// A unit of generation `started_in` finished; `pushed_back` when the service answered any
    /// of its calls 429 or 503.
    pub(crate) fn on_unit_done(&mut self, started_in: u64, pushed_back: bool) {
        if !pushed_back {
            self.limit = (self.limit + 1).min(self.max);
        } else if started_in == self.generation {
            self.limit = (self.limit / 2).max(self.floor);
            self.generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_one_per_good_unit_and_halves_once_per_generation_down_to_eight() {
        let mut p = Pace::new(32);
        assert_eq!(p.limit(), 8);
        for _ in 0..16 {
            p.on_unit_done(p.generation(), false);
        }
        assert_eq!(p.limit(), 24);
        let before = p.generation();
        p.on_unit_done(before, true);
        assert_eq!(p.limit(), 12, "halved");
        p.on_unit_done(before, true);
        assert_eq!(p.limit(), 12, "a unit of the same generation does not halve it again");
        for _ in 0..100 {
            p.on_unit_done(p.generation(), false);
        }
        assert_eq!(p.limit(), 32, "never above the maximum");
        for _ in 0..10 {
            p.on_unit_done(p.generation(), true);
        }
        assert_eq!(p.limit(), 8, "never below eight");
        assert_eq!(Pace::new(2).limit(), 2, "nor above a lower maximum, from the start");
    }
}
