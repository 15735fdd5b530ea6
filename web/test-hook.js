// @ts-check
/**
 * The page's one test hook, `window.summitTest`: what the browser tests (tests/browser) and a
 * person debugging at the console read of a running page, each under a name documented here,
 * instead of reaching into the page's state. It reads; besides labelling connections, its one
 * action is `dropSignaling`, which does what a lost network would.
 */

/** @typedef {import('./e2ee.js').E2ee} E2ee */
/** @typedef {import('./framecrypto.js').FrameCrypto} FrameCrypto */
/** @typedef {import('./protocol.js').IceServer} IceServer */

/**
 * What one m-line of the subscribing connection carries, as the server's last offer said.
 * @typedef {{mid: string, participant: number, source: string}} CarriedTrack
 */

/**
 * @typedef {object} TestHook
 * @property {() => number | undefined} participantId the id this page's welcome gave it
 * @property {() => string[]} received the types of the signaling messages received (the last
 *   200), oldest first; `failed <type>: <error>` for one the page could not handle
 * @property {() => void} forgetReceived empties `received`
 * @property {() => boolean} hasLocalMedia the camera and microphone were opened
 * @property {() => RTCPeerConnection | null} publishing the connection the page sends on
 * @property {() => RTCPeerConnection | null} subscribing the connection the page receives on
 * @property {() => CarriedTrack[]} tracks what each receiving m-line carries
 * @property {() => string | null} channelMid the m-line of the language channel listened to
 * @property {() => number} offers subscribe offers received on the current connections
 * @property {(source: string) => RTCRtpSender | null} sender the sender of `camera`,
 *   `microphone` or `screen`, while published
 * @property {() => number} sending how many local sources are published
 * @property {() => IceServer[]} welcomeIceServers the ICE servers (TURN credentials) the
 *   welcome gave
 * @property {() => RTCIceServer[]} iceServers the ICE servers in use now (renewed since)
 * @property {(label: string) => void} labelConnections labels the current media connections
 * @property {() => string | null} connectionsLabel their label: null for connections made
 *   since the last `labelConnections`
 * @property {() => number | undefined} playoutTarget the receiving connection's playout delay
 *   target, in milliseconds
 * @property {() => E2ee | null} e2ee the key exchange (identities, the active key index)
 * @property {() => FrameCrypto | null} frames the media encryption worker's front (reports,
 *   frame capture)
 * @property {(code: number, reason: string) => void} dropSignaling closes the signaling
 *   socket with `code`, as a lost network would
 */

/**
 * Makes `hook` the page's `window.summitTest`.
 * @param {TestHook} hook
 */
export function exposeTestHook(hook) {
  /** @type {any} */ (window).summitTest = Object.freeze(hook);
}
