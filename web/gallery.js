// @ts-check
/**
 * The gallery: lays the tiles out in pages of as many as fit the window (at most 25), each tile
 * in the camera's 16:9 shape (a picture of another shape is letterboxed, not cropped into a tall
 * tile that would ask the server for a bigger layer than it shows), and hides the tiles of the
 * other pages, so that the server sends their video to no one (display.js reports them as not
 * shown; their sound still plays). "Page 2 of 3" and the previous/next buttons show once there
 * are more tiles than fit.
 *
 * The speaker view shows one tile large (the dominant speaker, as the server says, or whoever
 * spoke last of the others) over a strip of the rest, paged the same way.
 */

/** The most tiles on one page, as in the galleries people know. */
export const MAX_TILES = 25;
/** The narrowest tile, in CSS pixels: below it a face and a name are hard to make out. */
export const MIN_TILE_WIDTH = 240;
/** A camera's shape. */
const ASPECT = 16 / 9;

/**
 * How many tiles of at least the smallest size fit in `width` by `height` CSS pixels, `gap`
 * apart (one at least, at most {@link MAX_TILES}).
 * @param {number} width
 * @param {number} height
 * @param {number} gap
 */
export function capacity(width, height, gap) {
  const cols = Math.max(1, Math.floor((width + gap) / (MIN_TILE_WIDTH + gap)));
  const rows = Math.max(1, Math.floor((height + gap) / (MIN_TILE_WIDTH / ASPECT + gap)));
  return Math.min(MAX_TILES, cols * rows);
}

/**
 * The number of columns that shows `n` tiles of 16:9 largest in `width` by `height`, `gap`
 * apart, and the tiles' size then.
 * @param {number} n
 * @param {number} width
 * @param {number} height
 * @param {number} gap
 * @returns {{cols: number, tileWidth: number, tileHeight: number}}
 */
export function fit(n, width, height, gap) {
  let best = { cols: 1, tileWidth: 0, tileHeight: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    const w = Math.min((width - gap * (cols - 1)) / cols, ((height - gap * (rows - 1)) / rows) * ASPECT);
    if (w > best.tileWidth) best = { cols, tileWidth: w, tileHeight: w / ASPECT };
  }
  return { cols: best.cols, tileWidth: Math.floor(best.tileWidth), tileHeight: Math.floor(best.tileHeight) };
}

/**
 * @typedef {object} PagerElements
 * @property {HTMLElement} pager the bar holding the rest (hidden on a single page)
 * @property {HTMLElement} label "Page 2 of 3"
 * @property {HTMLButtonElement} prev
 * @property {HTMLButtonElement} next
 */

export class Gallery {
  /**
   * @param {HTMLElement} grid the tiles' container
   * @param {PagerElements} el
   * @param {() => void} shownChanged called after every layout (tiles may have been shown or
   *   hidden)
   */
  constructor(grid, el, shownChanged) {
    this.grid = grid;
    this.el = el;
    this.shownChanged = shownChanged;
    /** The page shown, from 0. */
    this.page = 0;
    /** How many pages there are now. */
    this.pages = 1;
    /** The most tiles a page of the current layout shows (the speaker view: its large tile and strip). */
    this.perPage = 1;
    this.frame = 0;
    /** @type {'gallery' | 'speaker'} */
    this.mode = 'gallery';
    /** @type {number | null} the participant shown large in the speaker view */
    this.featured = null;
    // Tiles come and go, the window and the screen-share strip change the room they have.
    new ResizeObserver(() => this.schedule()).observe(grid);
    new MutationObserver(() => this.schedule()).observe(grid, { childList: true });
    el.prev.addEventListener('click', () => this.go(this.page - 1));
    el.next.addEventListener('click', () => this.go(this.page + 1));
  }

  /** Lays out again before the next paint (changes in one task are gathered). */
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.layout(); });
  }

  /** @param {'gallery' | 'speaker'} mode */
  setMode(mode) {
    this.mode = mode;
    this.layout();
  }

  /**
   * The dominant speaker changed: shown large in the speaker view (not this page's own tile:
   * the last speaker stays large while one speaks oneself).
   * @param {number | null} id
   */
  setDominant(id) {
    const tile = id === null ? null : this.tileOf(id);
    if (!tile || tile.classList.contains('self') || id === this.featured) return;
    this.featured = id;
    if (this.mode === 'speaker') this.layout();
  }

  /** @param {number} id */
  tileOf(id) {
    return /** @type {HTMLElement | null} */ (this.grid.querySelector(`.tile[data-participant="${id}"]`));
  }

  /** @param {number} page from 0 */
  go(page) {
    this.page = page;
    this.layout();
  }

  layout() {
    const tiles = /** @type {HTMLElement[]} */ ([...this.grid.children].filter((c) => c instanceof HTMLElement && c.classList.contains('tile')));
    const style = getComputedStyle(this.grid);
    const gap = parseFloat(style.columnGap) || 0;
    const width = this.grid.clientWidth - (parseFloat(style.paddingLeft) || 0) - (parseFloat(style.paddingRight) || 0);
    const height = this.grid.clientHeight - (parseFloat(style.paddingTop) || 0) - (parseFloat(style.paddingBottom) || 0);
    // Not on screen (another view is shown): nothing to fit yet.
    if (width <= 0 || height <= 0) return;
    const large = this.mode === 'speaker' ? this.largeTile(tiles) : null;
    for (const t of tiles) t.classList.toggle('featured', t === large);
    if (large) return this.layoutSpeaker(tiles.filter((t) => t !== large), large, width, height, gap);
    this.grid.classList.remove('speaker-view');
    const perPage = capacity(width, height, gap);
    this.perPage = perPage;
    this.pages = Math.max(1, Math.ceil(tiles.length / perPage));
    this.page = Math.min(Math.max(0, this.page), this.pages - 1);
    const first = this.page * perPage;
    const onPage = tiles.slice(first, first + perPage);
    tiles.forEach((t, i) => { t.hidden = i < first || i >= first + perPage; });
    // The tiles wrap into rows (styles.css): at this size they fit in the room there is.
    const { tileWidth, tileHeight } = fit(onPage.length, width, height, gap);
    this.grid.style.setProperty('--tile-width', `${tileWidth}px`);
    this.grid.style.setProperty('--tile-height', `${tileHeight}px`);
    this.showPager();
  }

  /**
   * The tile the speaker view shows large: the featured participant's, or else the first
   * other's, or else one's own.
   * @param {HTMLElement[]} tiles
   */
  largeTile(tiles) {
    const featured = this.featured === null ? null : this.tileOf(this.featured);
    return featured ?? tiles.find((t) => !t.classList.contains('self')) ?? tiles[0] ?? null;
  }

  /**
   * The speaker view: `large` over a strip of one row of the `others`, paged.
   * @param {HTMLElement[]} others @param {HTMLElement} large
   * @param {number} width @param {number} height @param {number} gap
   */
  layoutSpeaker(others, large, width, height, gap) {
    this.grid.classList.add('speaker-view');
    const stripHeight = others.length ? Math.min(MIN_TILE_WIDTH / ASPECT, height / 4) : 0;
    const perPage = Math.max(1, Math.min(MAX_TILES - 1, Math.floor((width + gap) / (MIN_TILE_WIDTH + gap))));
    this.perPage = perPage + 1;
    this.pages = Math.max(1, Math.ceil(others.length / perPage));
    this.page = Math.min(Math.max(0, this.page), this.pages - 1);
    const first = this.page * perPage;
    large.hidden = false;
    others.forEach((t, i) => { t.hidden = i < first || i >= first + perPage; });
    const onPage = Math.min(perPage, others.length - first);
    const strip = fit(onPage, width, stripHeight, gap);
    this.grid.style.setProperty('--tile-width', `${strip.tileWidth}px`);
    this.grid.style.setProperty('--tile-height', `${strip.tileHeight}px`);
    this.grid.style.setProperty('--featured-height', `${Math.floor(height - (stripHeight ? stripHeight + gap : 0))}px`);
    this.showPager();
  }

  /** The pager for the page shown; then whoever follows what is shown is told. */
  showPager() {
    this.el.pager.hidden = this.pages < 2;
    this.el.label.textContent = `Page ${this.page + 1} of ${this.pages}`;
    this.el.prev.disabled = this.page === 0;
    this.el.next.disabled = this.page >= this.pages - 1;
    // After every layout: a tile added where there was room is shown without hiding any.
    this.shownChanged();
  }
}
