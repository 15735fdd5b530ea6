// How long the page holds received video before it plays it. On a clean link the browser's own
// choice is best (a few tens of milliseconds). When packets are lost, each lost packet is asked
// for again (NACK) and comes back by retransmission (RTX), a round trip or two later, and a
// packet lost on the sender's link is repaired at the server before it comes on. The browser
// would wait for that if it knew the round-trip time, but a connection that only receives never
// measures one (Chromium's receive streams learn it only through RTCP XR, which WebRTC does not
// negotiate), so it plays on without the late frames. So while losses are seen, the page asks
// for a longer hold (`RTCRtpReceiver.jitterBufferTarget`), sized from the ICE round-trip time.

/** Share of a second's video packets lost from which the link counts as lossy. */
const LOSSY_SHARE = 0.02;
/** How long a lossy link keeps the longer hold after its last loss, in milliseconds. */
const LOSSY_HOLD_MS = 15000;
/** Hold while lossy: a fixed part (detection, the retransmission's turn) plus round trips. */
const BASE_MS = 200;
const ROUND_TRIPS = 3;
/** Bounds of the hold while lossy, in milliseconds. */
const MIN_MS = 250;
const MAX_MS = 500;

/** Decides the video hold from the receiving connection's figures, once a second. */
export class PlayoutDelay {
  constructor() {
    /** @type {{lost: number, received: number} | null} */
    this.last = null;
    /** Until when (ms) the link counts as lossy. */
    this.lossyUntil = 0;
    /** The hold asked for now, in milliseconds; 0 leaves it to the browser. */
    this.target = 0;
  }

  /**
   * One reading of the video receivers' cumulative packet counts, and the ICE round-trip
   * time in seconds (null when unknown). Returns the hold to ask for, in milliseconds (0: the
   * browser's own).
   * @param {number} now milliseconds
   * @param {number} lost
   * @param {number} received
   * @param {number | null} rtt
   */
  update(now, lost, received, rtt) {
    const last = this.last;
    this.last = { lost, received };
    if (last) {
      // Counters restart when a receiver goes (a track changes): no delta for that reading.
      const dl = lost - last.lost;
      const dr = received - last.received;
      if (dl > 0 && dr >= 0 && dl / (dl + dr) >= LOSSY_SHARE) this.lossyUntil = now + LOSSY_HOLD_MS;
    }
    if (now >= this.lossyUntil) {
      this.target = 0;
    } else {
      const rttMs = rtt !== null && Number.isFinite(rtt) ? rtt * 1000 : 0;
      this.target = Math.round(Math.min(MAX_MS, Math.max(MIN_MS, BASE_MS + ROUND_TRIPS * rttMs)));
    }
    return this.target;
  }
}
