// @ts-check
/**
 * The meeting record on the page: the latest head the server signed (after every join, leave
 * and the end), kept so that the person can download it and later prove, with
 * `summit record verify --head`, that an exported record holds everything up to it.
 */

/** @typedef {{meeting: string, seq: number, hash: string, at: string, key: string, sig: string}} Head */

export class RecordView {
  constructor() {
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    this.el = { section: $('record-section'), text: $('record-text'), button: $('record-download') };
    /** @type {Head | null} */
    this.head = null;
    this.el.button.addEventListener('click', () => this.download());
  }

  /** @param {Head} head */
  update(head) {
    this.head = head;
    this.el.section.hidden = false;
    const at = new Date(head.at);
    const when = Number.isNaN(at.getTime()) ? head.at : at.toLocaleTimeString();
    this.el.text.textContent = `The server signed the record through entry ${head.seq} at ${when}.`;
  }

  download() {
    if (!this.head) return;
    const blob = new Blob([JSON.stringify(this.head, null, 2) + '\n'], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${this.head.meeting}-record-head-${this.head.seq}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
}
