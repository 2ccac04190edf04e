// A count anyone can check, in the browser: a voter keeps the receipt of a
// recorded vote, and the verify page checks a receipt against the ledger.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, open } from './harness.js';

let urna;
before(async () => { urna = await start(); });
after(async () => { await urna?.stop(); });

test('a voter keeps the receipt of a vote and the verify page checks it; a changed receipt fails', async () => {
  await urna.admin.openPoll('e2e-receipt');
  const voter = await urna.page();
  await voter.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: urna.base });
  await open(voter, urna.base, '/p/e2e-receipt');
  await voter.getByRole('button', { name: 'Vote for Beta' }).click();
  await voter.locator('[data-testid=vote-feedback][data-outcome=recorded]').waitFor();

  // "Check my vote" shows the receipt and copies it.
  await voter.getByText('Check my vote').click();
  const receiptText = await voter.getByLabel('Your receipt').inputValue();
  const receipt = JSON.parse(receiptText);
  assert.equal(receipt.poll, 'e2e-receipt');
  assert.match(receipt.root, /^[0-9a-f]{64}$/);
  await voter.getByRole('button', { name: 'Copy receipt' }).click();
  await voter.getByText('Copied.').waitFor();
  assert.equal(await voter.evaluate(() => navigator.clipboard.readText()), receiptText);

  // The verify page finds the receipt this device kept, and checks it.
  await voter.getByRole('link', { name: 'Check a receipt' }).click();
  await voter.waitForURL(`${urna.base}/p/e2e-receipt/verify`);
  await voter.getByRole('heading', { name: 'Check a vote' }).waitFor();
  const field = voter.getByLabel('Your receipt');
  await voter.waitForFunction(() => document.querySelector('#receipt')?.value.includes('"root"'));
  await voter.getByRole('button', { name: 'Check' }).click();
  const result = voter.locator('[data-testid=verify-result][data-verdict=ok]');
  await result.waitFor();
  const found = await result.innerText();
  assert.match(found, /The vote is in ledger entry \d+/);
  assert.match(found, /The entry counts a vote for Beta/);

  // Someone else pastes a receipt with another option under the same proof.
  const other = await urna.page();
  await open(other, urna.base, '/p/e2e-receipt/verify');
  await other.getByLabel('Your receipt').fill(JSON.stringify({ ...receipt, option_id: receipt.option_id + 1 }));
  await other.getByRole('button', { name: 'Check' }).click();
  const bad = other.locator('[data-testid=verify-result][data-verdict=bad]');
  await bad.waitFor();
  assert.match(await bad.innerText(), /does not hold together/);
  await field.fill('not a receipt');
  await voter.getByRole('button', { name: 'Check' }).click();
  await voter.locator('[data-testid=verify-result][data-verdict=bad]').waitFor();
  assert.match(await voter.locator('[data-testid=verify-result]').innerText(), /This is not a receipt/);
});
