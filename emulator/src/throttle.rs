//! A write throttle modelled on Graph's token buckets: each token (caller) may make `rate`
//! decisions per second, with a bucket that holds one second's worth; beyond it, 429.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub(crate) struct Throttle {
    rate: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Throttle {
    /// `rate` writes per second per key; 0 turns throttling off.
    pub fn new(rate: f64) -> Throttle {
        Throttle { rate: rate.max(0.0), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one write for `key`, or says how many seconds until one is free.
    pub fn take(&self, key: &str) -> Result<(), f64> {
        self.take_at(key, Instant::now())
    }

    /// [`Throttle::take`] at a given time, so the bucket can be tested without a clock.
    fn take_at(&self, key: &str, now: Instant) -> Result<(), f64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let capacity = self.rate.max(1.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(key.to_string()).or_insert(Bucket { tokens: capacity, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.rate).min(capacity);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            // Graph asks for whole seconds; half a second keeps tests quick while still making a
            // client that retries at once (and makes throttling worse) stand out in the counts.
            Err(((1.0 - b.tokens) / self.rate).max(0.5))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_one_second_of_writes() {
        let t = Throttle::new(5.0);
        let now = Instant::now();
        for _ in 0..5 {
            assert!(t.take_at("a", now).is_ok());
        }
        let wait = t.take_at("a", now).unwrap_err();
        assert!((0.5..=1.0).contains(&wait), "{wait}");
        assert!(t.take_at("b", now).is_ok(), "buckets are per token");
        let later = now + std::time::Duration::from_millis(400);
        assert!(t.take_at("a", later).is_ok(), "two writes refilled in 0.4 s");
        assert!(t.take_at("a", later).is_ok());
        assert!(t.take_at("a", later).is_err());
        assert!(Throttle::new(0.0).take("a").is_ok());
    }
}
