//! Simulcast layer choice: which layer of each video one subscriber receives, from the
//! bandwidth its link is estimated to carry and the size its page shows each tile at.
//!
//! Plain arithmetic on rates and sizes, no str0m: the media path measures each layer's rate
//! ([`RateMeter`]), the subscriber's connection estimates its bandwidth, and [`Allocator`]
//! turns both into one target layer (or none) per video slot. Hysteresis keeps a steady link
//! steady: a layer already received stays while it fits, a higher one must fit with headroom,
//! and after a step down the next step up waits, longer each time a step up failed soon. A
//! picture is cut off altogether only when the shortfall lasts (see [`CUT_GRACE`]).

use std::time::{Duration, Instant};

/// How long one rate measurement window lasts.
const RATE_WINDOW: Duration = Duration::from_millis(500);
/// A layer with no packet for this long is not being sent (the publisher's encoder dropped it).
const LIVE_FOR: Duration = Duration::from_millis(1500);
/// Bytes counted per packet besides the payload: RTP header and extensions, SRTP tag, UDP/IP.
const PACKET_OVERHEAD: u64 = 60;
/// A step up must fit this many times its rate, so a link just above a layer's rate does not
/// flap between two layers.
pub(crate) const UP_HEADROOM_PERCENT: u64 = 115;
/// The first wait before stepping up again after a step down.
const BASE_HOLD: Duration = Duration::from_secs(3);
/// The longest wait, after repeated failed steps up.
const MAX_HOLD: Duration = Duration::from_secs(48);
/// A step down this soon after a step up means the step up failed: the next hold doubles.
const FAILED_UP_WITHIN: Duration = Duration::from_secs(8);
/// After this long without a step down, the hold is back to its base.
const CALM_AFTER: Duration = Duration::from_secs(30);
/// How long a shown tile keeps its lowest layer while the budget is short of it, by less than
/// half. Random loss (hotel Wi-Fi) makes a TWCC estimate dip for a moment though the link still
/// carries the video, and a cut costs the viewer seconds of a frozen picture (the hold, then a
/// keyframe), while a link that really is too thin stays short, or falls far short at once.
pub(crate) const CUT_GRACE: Duration = Duration::from_secs(2);
/// Before the page has reported on its link, an estimate above a third of what a picture
/// needs does not cut it. In `1-to-50` with a CPU hog on the server's core, str0m's estimates
/// fell from 3 Mbit/s to 0.5-0.8 within the first second, before any report, and the pictures
/// cut then stayed off for seconds (the hold); twelve 720p pictures on a 3 Mbit/s start (six
/// times short) are still cut at once.
const UNHEARD_DEPTH: u64 = 3;

/// Measures one stream's rate (bits per second, packet overhead included) over short windows.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateMeter {
    window_start: Option<Instant>,
    bytes: u64,
    rate: u64,
    last_packet: Option<Instant>,
}

impl RateMeter {
    /// Counts one packet of `payload` bytes (constant work: an add and a compare).
    pub(crate) fn add(&mut self, now: Instant, payload: usize) {
        self.last_packet = Some(now);
        self.bytes += payload as u64 + PACKET_OVERHEAD;
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= RATE_WINDOW {
            let micros = elapsed.as_micros().max(1) as u64;
            let fresh = self.bytes.saturating_mul(8_000_000) / micros;
            // Smooth over about two windows: a keyframe does not make a layer look twice as big.
            self.rate = if self.rate == 0 {
                fresh
            } else {
                (self.rate + fresh) / 2
            };
            self.bytes = 0;
            self.window_start = Some(now);
        }
    }

    /// The measured rate in bits per second, 0 before the first window closes or once the
    /// stream stopped.
    pub(crate) fn rate(&self, now: Instant) -> u64 {
        if self.live(now) {
            self.rate
        } else {
            0
        }
    }

    /// Whether packets arrived recently.
    pub(crate) fn live(&self, now: Instant) -> bool {
        self.last_packet
            .is_some_and(|t| now.saturating_duration_since(t) < LIVE_FOR)
    }
}

/// What the page reported about one tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Display {
    /// Never reported: the best layer the link carries.
    #[default]
    Unreported,
    /// Not shown anywhere: nothing is sent.
    Hidden,
    /// Shown at this size in device pixels.
    Shown {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
}

impl Display {
    /// From a page's report: 0 by 0 (or either side 0) means hidden.
    pub(crate) fn from_size(width: u32, height: u32) -> Self {
        if width == 0 || height == 0 {
            Display::Hidden
        } else {
            Display::Shown { width, height }
        }
    }
}

/// One layer a tile could receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerOption {
    /// Measured rate in bits per second.
    pub(crate) rate: u64,
    /// Encoded size, 0 by 0 when unknown (a track sent as one stream).
    pub(crate) width: u32,
    /// Encoded height.
    pub(crate) height: u32,
    /// Packets are arriving.
    pub(crate) live: bool,
}

/// One video slot of the subscriber, as the allocator sees it.
#[derive(Debug, Clone)]
pub(crate) struct Tile {
    /// Its track's layers, lowest first.
    pub(crate) layers: Vec<LayerOption>,
    pub(crate) display: Display,
    /// The layer it is set to now.
    pub(crate) current: Option<usize>,
    /// Served first when bandwidth is short (screen shares).
    pub(crate) important: bool,
    /// Off because the link could not carry it (not because the page hid it).
    pub(crate) starved: bool,
}

impl Tile {
    /// The highest layer worth sending for the size shown: the smallest live layer at least as
    /// big as the tile, else the biggest live one. `None` when hidden.
    fn ceiling(&self) -> Option<usize> {
        let live: Vec<usize> = (0..self.layers.len())
            .filter(|&i| self.layers[i].live)
            .collect();
        let Some(&top) = live.last() else {
            // Nothing arrives yet: aim at the lowest layer, which starts first.
            return match self.display {
                Display::Hidden => None,
                _ => Some(0),
            };
        };
        match self.display {
            Display::Hidden => None,
            Display::Unreported => Some(top),
            Display::Shown { width, height } => Some(
                live.iter()
                    .copied()
                    .find(|&i| {
                        // Within a tenth of the tile's size is big enough to look sharp.
                        let l = self.layers[i];
                        l.width == 0
                            || (u64::from(l.width) * 10 >= u64::from(width) * 9
                                && u64::from(l.height) * 10 >= u64::from(height) * 9)
                    })
                    .unwrap_or(top),
            ),
        }
    }

    /// The lowest live layer (or layer 0 while nothing arrives).
    fn floor(&self) -> usize {
        (0..self.layers.len())
            .find(|&i| self.layers[i].live)
            .unwrap_or(0)
    }

    /// The next live layer above `l`, up to `ceiling`.
    fn next_up(&self, l: usize, ceiling: usize) -> Option<usize> {
        (l + 1..=ceiling).find(|&i| self.layers.get(i).is_some_and(|x| x.live))
    }

    /// A layer's rate; nothing for one not being sent.
    fn rate(&self, l: usize) -> u64 {
        self.layers.get(l).filter(|x| x.live).map_or(0, |x| x.rate)
    }
}

/// What the allocator decided for one subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Allocation {
    /// Per tile (same order as given): the layer to send, or `None` to send nothing.
    pub(crate) layers: Vec<Option<usize>>,
    /// The video rate this allocation sends.
    pub(crate) used: u64,
    /// The video rate the subscriber would take if the link allowed (every tile at its ceiling).
    pub(crate) wanted: u64,
    /// The extra rate of the cheapest step up not taken (0 when every tile is at its ceiling):
    /// what the link must be shown to carry before the next rise.
    pub(crate) next_step: u64,
}

/// Per-subscriber layer choice with hysteresis.
#[derive(Debug, Clone)]
pub(crate) struct Allocator {
    /// No step up before this.
    hold_until: Option<Instant>,
    hold: Duration,
    last_up: Option<Instant>,
    last_down: Option<Instant>,
    /// Since when a tile's lowest layer is kept although the budget is short of it; it
    /// counts on through brief recoveries, so an estimate that wavers around the lowest layer
    /// does not keep a link that is too thin overloaded.
    short_since: Option<Instant>,
    /// Since when the budget has covered every picture again (after a shortfall).
    covered_since: Option<Instant>,
    /// The link shows no sign of overload (congestion.rs): a picture being sent keeps its
    /// lowest layer however low the estimate, which random loss drags down too.
    pub(crate) link_clear: bool,
    /// The most video the sender can pace out without queueing (str0m paces at its own
    /// estimate, plus the slack `bandwidth.rs` allows): a clear link starts a picture only
    /// within it, since the wire shows no sign of a queue that builds before the wire.
    pub(crate) pace_limit: Option<u64>,
    /// The page has not reported on the link yet: a picture being sent is cut only by a
    /// shortfall deeper than [`UNHEARD_DEPTH`], however long. An estimate's first second falls
    /// for what a busy server adds (fifty connections starting at once on a loaded core) as
    /// readily as for a thin link; the page's first reports tell them apart.
    pub(crate) link_unheard: bool,
}

impl Default for Allocator {
    fn default() -> Self {
        Self {
            hold_until: None,
            hold: BASE_HOLD,
            last_up: None,
            last_down: None,
            short_since: None,
            covered_since: None,
            link_clear: false,
            pace_limit: None,
            link_unheard: false,
        }
    }
}

impl Allocator {
    /// Chooses a layer per tile. `budget` is the bandwidth left for video (the link's estimate
    /// less the audio this subscriber receives); `None` when there is no estimate, so only the
    /// shown sizes count.
    pub(crate) fn allocate(
        &mut self,
        now: Instant,
        budget: Option<u64>,
        tiles: &[Tile],
    ) -> Allocation {
        if self
            .last_down
            .is_some_and(|t| now.saturating_duration_since(t) > CALM_AFTER)
        {
            self.hold = BASE_HOLD;
        }
        let ceilings: Vec<Option<usize>> = tiles.iter().map(Tile::ceiling).collect();
        let wanted = tiles
            .iter()
            .zip(&ceilings)
            .filter_map(|(t, c)| c.map(|c| t.rate(c)))
            .sum();
        let Some(budget) = budget else {
            let used = tiles
                .iter()
                .zip(&ceilings)
                .filter_map(|(t, c)| c.map(|c| t.rate(c)))
                .sum();
            return Allocation {
                layers: ceilings,
                used,
                wanted,
                next_step: 0,
            };
        };
        // Important tiles first, then the bigger ones, then in slot order.
        let mut order: Vec<usize> = (0..tiles.len()).collect();
        order.sort_by_key(|&i| {
            let area = match tiles[i].display {
                Display::Shown { width, height } => u64::from(width) * u64::from(height),
                Display::Unreported => u64::MAX,
                Display::Hidden => 0,
            };
            (!tiles[i].important, std::cmp::Reverse(area), i)
        });
        let mut layers: Vec<Option<usize>> = vec![None; tiles.len()];
        let mut used = 0u64;
        let may_rise = self.hold_until.is_none_or(|t| now >= t);
        let in_grace = self
            .short_since
            .is_none_or(|t| now.saturating_duration_since(t) < CUT_GRACE);
        let mut short = false;
        // Every shown tile's lowest layer, while they fit.
        for &i in &order {
            if ceilings[i].is_none() {
                continue;
            }
            let floor = tiles[i].floor();
            let cost = tiles[i].rate(floor);
            // Video that is off for want of bandwidth comes back like any step up. Video the
            // page hid (or a new tile) starts on room alone: the link carried it, and the
            // page asked for it now; a hold from an earlier congestion must not blank a tile
            // the user just opened. On a link that shows no sign of overload, a picture that
            // is not being sent starts too (a starved one once the hold is over), however low
            // the estimate: an estimate made while little or no video flowed cannot rise
            // (nothing probes it), so believing it would keep the picture off for good. If the
            // link really is too thin, the start fails within the grace and the next hold
            // doubles (`FAILED_UP_WITHIN`).
            let clear = self.link_clear && self.pace_limit.is_none_or(|l| used + cost <= l);
            let fits = if tiles[i].current.is_some() {
                used + cost <= budget
            } else if !tiles[i].starved {
                clear || used + cost <= budget
            } else {
                may_rise && (clear || (used + cost) * UP_HEADROOM_PERCENT / 100 <= budget)
            };
            // A picture being sent is not cut by a brief, shallow shortfall (CUT_GRACE); an
            // estimate below half of what it needs is a link that cannot carry it. Nor is it
            // cut while the link shows no sign of overload: the estimate fell for loss that
            // sending less would not cure.
            let sending = tiles[i].current.is_some();
            let depth = if self.link_unheard { UNHEARD_DEPTH } else { 2 };
            let shallow = used + cost <= budget.saturating_mul(depth);
            if !fits && sending {
                short = true;
            }
            // Until the page's first reports, the grace lasts and is deeper (`link_unheard`).
            let kept = self.link_clear || ((in_grace || self.link_unheard) && shallow);
            if fits || (sending && kept) {
                layers[i] = Some(floor);
                used += cost;
            }
        }
        if short {
            self.short_since.get_or_insert(now);
            self.covered_since = None;
        } else if self.short_since.is_some() {
            let covered = *self.covered_since.get_or_insert(now);
            if now.saturating_duration_since(covered) >= CUT_GRACE {
                self.short_since = None;
                self.covered_since = None;
            }
        }
        // Then step tiles up, one layer each round, in order.
        loop {
            let mut stepped = false;
            for &i in &order {
                let (Some(l), Some(ceiling)) = (layers[i], ceilings[i]) else {
                    continue;
                };
                let Some(next) = tiles[i].next_up(l, ceiling) else {
                    continue;
                };
                let extra = tiles[i].rate(next).saturating_sub(tiles[i].rate(l));
                // Keeping what it has needs only room; going higher needs headroom and no hold.
                let keeps = tiles[i].current.is_some_and(|c| next <= c);
                let fits = if keeps {
                    used + extra <= budget
                } else {
                    may_rise && (used + extra) * UP_HEADROOM_PERCENT / 100 <= budget
                };
                if fits {
                    layers[i] = Some(next);
                    used += extra;
                    stepped = true;
                }
            }
            if !stepped {
                break;
            }
        }
        let lower = |a: Option<usize>, b: Option<usize>| match (a, b) {
            (None, Some(_)) => true,
            (Some(x), Some(y)) => x < y,
            _ => false,
        };
        // Down for want of bandwidth (not because a tile shrank or hid): hold further rises.
        let down = tiles
            .iter()
            .zip(&layers)
            .zip(&ceilings)
            .any(|((t, &l), &c)| lower(l, t.current) && !lower(c, t.current));
        let up = tiles.iter().zip(&layers).any(|(t, &l)| lower(t.current, l));
        if down {
            if self
                .last_up
                .is_some_and(|t| now.saturating_duration_since(t) < FAILED_UP_WITHIN)
            {
                self.hold = (self.hold * 2).min(MAX_HOLD);
            }
            self.last_down = Some(now);
            self.hold_until = Some(now + self.hold);
        } else if up {
            self.last_up = Some(now);
        }
        let next_step = tiles
            .iter()
            .zip(&layers)
            .zip(&ceilings)
            .filter_map(|((t, &l), &c)| {
                let c = c?;
                match l {
                    None => Some(t.rate(t.floor())),
                    Some(l) => t.next_up(l, c).map(|n| t.rate(n).saturating_sub(t.rate(l))),
                }
            })
            .min()
            .unwrap_or(0);
        Allocation {
            layers,
            used,
            wanted,
            next_step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three(live: bool) -> Vec<LayerOption> {
        [
            (150_000, 320, 180),
            (500_000, 640, 360),
            (1_500_000, 1280, 720),
        ]
        .into_iter()
        .map(|(rate, width, height)| LayerOption {
            rate,
            width,
            height,
            live,
        })
        .collect()
    }

    fn tile(display: Display, current: Option<usize>) -> Tile {
        Tile {
            layers: three(true),
            display,
            current,
            important: false,
            starved: false,
        }
    }

    #[test]
    fn rate_meter_measures_and_forgets() {
        let t0 = Instant::now();
        let mut m = RateMeter::default();
        // 100 packets of 1,190 bytes (+60 overhead) per second: 1 Mbit/s.
        for i in 0..=200u64 {
            m.add(t0 + Duration::from_millis(i * 10), 1190);
        }
        let at = t0 + Duration::from_secs(2);
        assert!(
            (950_000..=1_050_000).contains(&m.rate(at)),
            "{}",
            m.rate(at)
        );
        assert!(m.live(at));
        assert_eq!(m.rate(at + Duration::from_secs(2)), 0);
    }

    #[test]
    fn size_shown_caps_the_layer() {
        let now = Instant::now();
        let mut a = Allocator::default();
        let tiles = [
            tile(
                Display::Shown {
                    width: 320,
                    height: 180,
                },
                None,
            ),
            tile(
                Display::Shown {
                    width: 600,
                    height: 340,
                },
                None,
            ),
            tile(
                Display::Shown {
                    width: 1920,
                    height: 1080,
                },
                None,
            ),
            tile(Display::Unreported, None),
            tile(Display::Hidden, None),
        ];
        let r = a.allocate(now, None, &tiles);
        assert_eq!(r.layers, vec![Some(0), Some(1), Some(2), Some(2), None]);
        let r = a.allocate(now, Some(100_000_000), &tiles);
        assert_eq!(r.layers, vec![Some(0), Some(1), Some(2), Some(2), None]);
    }

    #[test]
    fn short_bandwidth_serves_important_and_big_tiles_first() {
        let now = Instant::now();
        let mut a = Allocator::default();
        let mut screen = tile(
            Display::Shown {
                width: 200,
                height: 100,
            },
            None,
        );
        screen.important = true;
        let tiles = [
            tile(
                Display::Shown {
                    width: 320,
                    height: 180,
                },
                None,
            ),
            tile(
                Display::Shown {
                    width: 1280,
                    height: 720,
                },
                None,
            ),
            screen,
        ];
        // Room for two lowest layers only (new video needs headroom too).
        let r = a.allocate(now, Some(400_000), &tiles);
        assert_eq!(r.layers, vec![None, Some(0), Some(0)]);
        assert_eq!(r.next_step, 150_000);
        // Room for all lowest layers and one step for the big tile (with headroom).
        let r = a.allocate(now, Some(800_000 * 115 / 100), &tiles);
        assert_eq!(r.layers, vec![Some(0), Some(1), Some(0)]);
    }

    #[test]
    fn keeps_a_layer_that_fits_but_rises_only_with_headroom() {
        let now = Instant::now();
        let mut a = Allocator::default();
        let big = Display::Shown {
            width: 1280,
            height: 720,
        };
        // 1.55 Mbit/s fits the top layer but not with headroom: a new tile gets the middle.
        let r = a.allocate(now, Some(1_550_000), &[tile(big, Some(1))]);
        assert_eq!(r.layers, vec![Some(1)]);
        // A tile already on the top layer keeps it.
        let r = a.allocate(now, Some(1_550_000), &[tile(big, Some(2))]);
        assert_eq!(r.layers, vec![Some(2)]);
        assert_eq!(r.used, 1_500_000);
        assert_eq!(r.wanted, 1_500_000);
    }

    #[test]
    fn a_short_dip_does_not_cut_the_picture() {
        let t0 = Instant::now();
        let mut a = Allocator::default();
        let small = Display::Shown {
            width: 320,
            height: 180,
        };
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // The estimate dips below the lowest layer for a moment: the picture stays.
        let r = a.allocate(at(0), Some(100_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![Some(0)]);
        let r = a.allocate(at(1500), Some(100_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![Some(0)]);
        // It recovers for good, and a later dip has its own grace.
        let r = a.allocate(at(1800), Some(200_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![Some(0)]);
        let r = a.allocate(at(3900), Some(200_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![Some(0)]);
        let r = a.allocate(at(4000), Some(100_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![Some(0)]);
        // An estimate that wavers around the layer does not renew the grace.
        let r = a.allocate(at(5000), Some(200_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![Some(0)]);
        let r = a.allocate(at(5500), Some(100_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![Some(0)]);
        // A shortfall that lasts cuts it, and the next start waits for the hold.
        let r = a.allocate(at(6000), Some(100_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![None]);
        let mut off = tile(small, None);
        off.starved = true;
        let r = a.allocate(at(6500), Some(200_000), &[off.clone()]);
        assert_eq!(r.layers, vec![None]);
        let r = a.allocate(at(6000 + 3100), Some(200_000), &[off]);
        assert_eq!(r.layers, vec![Some(0)]);
        // A deep shortfall cuts at once.
        let mut c = Allocator::default();
        let r = c.allocate(at(0), Some(70_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![None]);
        // Video not being sent never starts in the grace.
        let mut b = Allocator::default();
        let r = b.allocate(at(0), Some(100_000), &[tile(small, None)]);
        assert_eq!(r.layers, vec![None]);
    }

    #[test]
    fn before_the_first_reports_only_a_deep_shortfall_cuts() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // A thumbnail being sent: its lowest layer needs 150 kbit/s.
        let sent = [tile(
            Display::Shown {
                width: 320,
                height: 180,
            },
            Some(0),
        )];
        let unheard = || Allocator {
            link_unheard: true,
            ..Allocator::default()
        };
        let mut a = unheard();
        // Well below its need, past the grace: kept while the page has not reported.
        for ms in [0, 1_000, 2_500, 4_000] {
            let kept = a.allocate(at(ms), Some(70_000), &sent).layers;
            assert_eq!(kept, vec![Some(0)], "at {ms} ms");
        }
        // Below a third: cut.
        assert_eq!(
            a.allocate(at(4_100), Some(40_000), &sent).layers,
            vec![None]
        );
        // Once the page has reported (the link not clear), the usual rules: the same 70
        // kbit/s is a deep shortfall, cut at once.
        let mut b = unheard();
        assert_eq!(b.allocate(at(0), Some(70_000), &sent).layers, vec![Some(0)]);
        b.link_unheard = false;
        assert_eq!(b.allocate(at(500), Some(70_000), &sent).layers, vec![None]);
    }

    #[test]
    fn a_clear_link_keeps_the_lowest_layer_of_a_picture() {
        let t0 = Instant::now();
        let small = Display::Shown {
            width: 320,
            height: 180,
        };
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut a = Allocator {
            link_clear: true,
            ..Allocator::default()
        };
        // Random loss drags the estimate far below the lowest layer, for long: the picture
        // stays, at its lowest layer.
        let r = a.allocate(at(0), Some(150_000), &[tile(small, Some(1))]);
        assert_eq!(r.layers, vec![Some(0)]);
        for ms in [1_000, 5_000, 10_000] {
            let r = a.allocate(at(ms), Some(50_000), &[tile(small, Some(0))]);
            assert_eq!(r.layers, vec![Some(0)], "at {ms} ms");
        }
        // Signs of overload: the shortfall has lasted past the grace, so it is cut at once.
        a.link_clear = false;
        let r = a.allocate(at(10_500), Some(50_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![None]);
    }

    #[test]
    fn a_clear_link_restarts_a_picture_with_growing_holds() {
        let t0 = Instant::now();
        let small = Display::Shown {
            width: 320,
            height: 180,
        };
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut starved = tile(small, None);
        starved.starved = true;
        // Shown again while the estimate, made on audio alone, is far below the lowest layer:
        // on a clear link it starts at once (the test page's "video back after showing it").
        let mut a = Allocator {
            link_clear: true,
            ..Allocator::default()
        };
        let r = a.allocate(at(0), Some(50_000), &[tile(small, None)]);
        assert_eq!(r.layers, vec![Some(0)]);
        // The link shows overload, and the estimate is far short: cut, and a hold starts.
        a.link_clear = false;
        let cut = 1_000;
        let r = a.allocate(at(cut), Some(50_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![None]);
        // Clear again (only audio flows): the starved picture waits for the hold, which
        // doubled because the start failed soon.
        a.link_clear = true;
        let hold = (BASE_HOLD * 2).as_millis() as u64;
        let r = a.allocate(at(cut + hold - 1), Some(50_000), &[starved.clone()]);
        assert_eq!(r.layers, vec![None]);
        let r = a.allocate(at(cut + hold), Some(50_000), &[starved.clone()]);
        assert_eq!(r.layers, vec![Some(0)]);
        // Not beyond what the sender can pace out: that queue is not on the wire, so the
        // link would go on looking clear while the delay grows.
        a.pace_limit = Some(100_000);
        let r = a.allocate(at(cut + hold + 1), Some(50_000), &[tile(small, None)]);
        assert_eq!(r.layers, vec![None]);
        a.pace_limit = None;
        // Failing again doubles it again.
        a.link_clear = false;
        let cut2 = cut + hold + 1_000;
        let r = a.allocate(at(cut2), Some(50_000), &[tile(small, Some(0))]);
        assert_eq!(r.layers, vec![None]);
        a.link_clear = true;
        let r = a.allocate(at(cut2 + hold), Some(50_000), &[starved.clone()]);
        assert_eq!(r.layers, vec![None]);
        let r = a.allocate(at(cut2 + hold * 2), Some(50_000), &[starved]);
        assert_eq!(r.layers, vec![Some(0)]);
    }

    #[test]
    fn waits_longer_after_each_failed_rise() {
        let t0 = Instant::now();
        let mut a = Allocator::default();
        let big = Display::Shown {
            width: 1280,
            height: 720,
        };
        // Down from the top for want of bandwidth.
        let r = a.allocate(t0, Some(600_000), &[tile(big, Some(2))]);
        assert_eq!(r.layers, vec![Some(1)]);
        // Bandwidth back at once: held for the base hold.
        let r = a.allocate(
            t0 + Duration::from_secs(1),
            Some(5_000_000),
            &[tile(big, Some(1))],
        );
        assert_eq!(r.layers, vec![Some(1)]);
        let t1 = t0 + BASE_HOLD;
        let r = a.allocate(t1, Some(5_000_000), &[tile(big, Some(1))]);
        assert_eq!(r.layers, vec![Some(2)]);
        // The rise fails soon: the next hold is twice as long.
        let t2 = t1 + Duration::from_secs(1);
        assert_eq!(
            a.allocate(t2, Some(600_000), &[tile(big, Some(2))]).layers,
            vec![Some(1)]
        );
        let almost = t2 + BASE_HOLD * 2 - Duration::from_millis(1);
        assert_eq!(
            a.allocate(almost, Some(5_000_000), &[tile(big, Some(1))])
                .layers,
            vec![Some(1)]
        );
        assert_eq!(
            a.allocate(t2 + BASE_HOLD * 2, Some(5_000_000), &[tile(big, Some(1))])
                .layers,
            vec![Some(2)]
        );
    }

    #[test]
    fn a_tile_shown_again_restarts_on_room_alone() {
        let start = Instant::now();
        let t0 = start + CUT_GRACE;
        let mut a = Allocator::default();
        let thumb = Display::Shown {
            width: 320,
            height: 180,
        };
        // Down for want of bandwidth (once the grace is over): a hold starts.
        let r = a.allocate(start, Some(100_000), &[tile(thumb, Some(0))]);
        assert_eq!(r.layers, vec![Some(0)]);
        let r = a.allocate(t0, Some(100_000), &[tile(thumb, Some(0))]);
        assert_eq!(r.layers, vec![None]);
        // Hidden, then shown again during the hold, with room for the thumbnail but no
        // headroom: it comes back at once.
        let t1 = t0 + Duration::from_secs(1);
        let r = a.allocate(t1, Some(5_000_000), &[tile(Display::Hidden, None)]);
        assert_eq!(r.layers, vec![None]);
        let r = a.allocate(t1, Some(160_000), &[tile(thumb, None)]);
        assert_eq!(r.layers, vec![Some(0)]);
        // Off for want of bandwidth, it waits for the hold and needs headroom.
        let mut starved = tile(thumb, None);
        starved.starved = true;
        assert_eq!(
            a.allocate(t1, Some(5_000_000), &[starved.clone()]).layers,
            vec![None]
        );
        let after = t0 + BASE_HOLD;
        assert_eq!(
            a.allocate(after, Some(160_000), &[starved.clone()]).layers,
            vec![None]
        );
        assert_eq!(
            a.allocate(after, Some(180_000), &[starved]).layers,
            vec![Some(0)]
        );
    }

    #[test]
    fn shrinking_a_tile_is_not_a_failure() {
        let t0 = Instant::now();
        let mut a = Allocator::default();
        let small = Display::Shown {
            width: 320,
            height: 180,
        };
        let big = Display::Shown {
            width: 1280,
            height: 720,
        };
        assert_eq!(
            a.allocate(t0, Some(5_000_000), &[tile(small, Some(2))])
                .layers,
            vec![Some(0)]
        );
        // Enlarged again at once: no hold.
        assert_eq!(
            a.allocate(t0, Some(5_000_000), &[tile(big, Some(0))])
                .layers,
            vec![Some(2)]
        );
    }

    #[test]
    fn layers_not_sent_are_skipped() {
        let now = Instant::now();
        let mut a = Allocator::default();
        let mut t = tile(Display::Unreported, None);
        t.layers[2].live = false;
        assert_eq!(
            a.allocate(now, None, std::slice::from_ref(&t)).layers,
            vec![Some(1)]
        );
        t.layers[0].live = false;
        t.layers[1].live = false;
        // Nothing arrives yet: the lowest layer, which will start first.
        assert_eq!(a.allocate(now, Some(1), &[t]).layers, vec![Some(0)]);
    }

    #[test]
    fn one_stream_tracks_have_one_layer() {
        let now = Instant::now();
        let mut a = Allocator::default();
        let t = Tile {
            layers: vec![LayerOption {
                rate: 1_000_000,
                width: 0,
                height: 0,
                live: true,
            }],
            display: Display::Shown {
                width: 100,
                height: 100,
            },
            current: None,
            important: false,
            starved: false,
        };
        assert_eq!(
            a.allocate(now, Some(2_000_000), std::slice::from_ref(&t))
                .layers,
            vec![Some(0)]
        );
        // Not even its one layer fits: video goes.
        assert_eq!(a.allocate(now, Some(500_000), &[t]).layers, vec![None]);
    }
}
