// The host's Invite dialog does not take the server's word: a token returned for an invitation
// must carry exactly what was asked (web/invite.js `tokenProblem`), or no link is shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenProblem } from '../../web/invite.js';

const NOW = 1_800_000_000;
const asked = { meeting: 'm', name: 'Ivy', role: 'delegate', interprets: null, encrypted: true };
const good = { mtg: 'm', name: 'Ivy', role: 'delegate', uses: 1, iat: NOW, nbf: NOW, exp: NOW + 7200 };

test('a token with every claim as asked is accepted', () => {
  assert.equal(tokenProblem(good, asked, NOW), '');
  assert.equal(tokenProblem({ ...good, no_e2ee: true }, { ...asked, encrypted: false }, NOW), '');
  assert.equal(tokenProblem({ ...good, role: 'interpreter', interprets: 'ru-zh' },
    { ...asked, role: 'interpreter', interprets: 'ru-zh' }, NOW), '');
});

test('each claim that differs from what was asked is refused, and says which', () => {
  /** @type {Array<[any, string]>} */
  const cases = [
    [null, 'not an invitation'],
    [{ ...good, mtg: 'other' }, 'another meeting'],
    [{ ...good, name: 'Mallory' }, 'someone else'],
    [{ ...good, role: 'host' }, 'another role'],
    [{ ...good, interprets: 'ru-zh' }, 'language pair'],
    [{ ...good, no_e2ee: true }, 'encryption'],
    [{ ...good, skip_lobby: true }, 'skips the lobby'],
    [{ ...good, uses: undefined }, 'more than once'],
    [{ ...good, uses: 5 }, 'more than once'],
    [{ ...good, exp: NOW + 30 * 86400 }, 'expiry'],
    [{ ...good, exp: NOW - 1 }, 'expiry'],
  ];
  for (const [claims, why] of cases) {
    assert.match(tokenProblem(claims, asked, NOW), new RegExp(why), JSON.stringify(claims));
  }
});
