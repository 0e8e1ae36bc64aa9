//! A clock for tests of retry schedules: it records every wait and returns at once.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use crate::retry::Clock;

/// A [`Clock`] whose time moves only when the client waits: each wait is recorded
/// ([`ManualClock::sleeps`]), adds to the clock's time and returns at once. Give it to
/// [`ClientBuilder::clock`](crate::ClientBuilder::clock) to check `Retry-After`, backoff and
/// deadlines without sleeping. Clones share one time.
///
/// ```
/// use std::time::Duration;
/// use supabase_rest::testing::ManualClock;
/// use supabase_rest::Clock;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.sleep(Duration::from_secs(30)).await;   // returns at once
/// assert_eq!(clock.now() - start, Duration::from_secs(30));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(30)]);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    now: Instant,
    wall: SystemTime,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock starting at the real current time.
    pub fn new() -> ManualClock {
        ManualClock::at(SystemTime::now())
    }

    /// A clock whose wall-clock time starts at `wall` (for `Retry-After` dates).
    pub fn at(wall: SystemTime) -> ManualClock {
        ManualClock {
            state: Arc::new(Mutex::new(State {
                now: Instant::now(),
                wall,
                sleeps: Vec::new(),
            })),
        }
    }

    /// Moves the time forward without a wait being recorded.
    pub fn advance(&self, by: Duration) {
        let mut s = self.lock();
        s.now += by;
        s.wall += by;
    }

    /// Every wait asked for so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.lock().now
    }

    fn wall(&self) -> SystemTime {
        self.lock().wall
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        {
            let mut s = self.lock();
            s.sleeps.push(duration);
            s.now += duration;
            s.wall += duration;
        }
        Box::pin(std::future::ready(()))
    }
}
