//! How long the SFU task's turns take. A turn is one wake-up: handling what woke the task
//! (datagrams, a command, a timer) and carrying out the core's outputs. While a turn runs no
//! packet is forwarded, so a long turn is a stall every meeting on the server feels.

use std::time::Duration;

/// A turn longer than this is a stall: forwarding waited long enough to be seen in latency.
pub(crate) const STALL: Duration = Duration::from_millis(5);

/// Stall counts since the task started.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TaskLoad {
    /// Turns over [`STALL`], whatever the cause (a DTLS handshake costs what it costs).
    pub(crate) stalls: u64,
    /// Turns whose registry work alone (handing record entries to the writer) took over
    /// [`STALL`]: the task must never wait on the disk or a lock, so this stays 0.
    pub(crate) registry_stalls: u64,
    /// The longest turn so far.
    pub(crate) longest: Duration,
}

impl TaskLoad {
    /// Counts one turn that took `took`, of which `registry` in the registry's code.
    pub(crate) fn turn(&mut self, took: Duration, registry: Duration) {
        if took > STALL {
            self.stalls += 1;
        }
        if registry > STALL {
            self.registry_stalls += 1;
        }
        self.longest = self.longest.max(took);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_turns_over_the_stall_limit_and_their_cause() {
        let mut l = TaskLoad::default();
        let ms = Duration::from_millis;
        l.turn(ms(1), Duration::ZERO);
        l.turn(STALL, STALL);
        assert_eq!((l.stalls, l.registry_stalls), (0, 0));
        l.turn(ms(9), ms(1));
        l.turn(ms(12), ms(8));
        assert_eq!((l.stalls, l.registry_stalls, l.longest), (2, 1, ms(12)));
    }
}
