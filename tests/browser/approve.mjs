// A street office signs in on the page, opens its green-channel queue, and approves one
// application. Usage: node approve.mjs BASE_URL TOKEN DRAWDOWN_ID
import { chromium } from 'playwright-core';

const [base, token, drawdown] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(base + '/');
  await page.fill('#token', token);
  await page.click('#signin-button');
  const link = page.locator(`a[data-id="${drawdown}"]`);
  await link.waitFor();
  const row = await link.locator('xpath=ancestor::tr').innerText();
  if (!/\d+ h|overdue/.test(row)) throw new Error('the queue row shows no time left: ' + row);
  await link.click();
  await page.locator('#units tr').first().waitFor();
  await page.fill('#reason', '现场核实，同意抢修');
  await page.click('#approve');
  await page.waitForFunction((id) => document.getElementById('message').textContent.includes(id + ': submitted → approved'), drawdown);
  console.log('approved in the browser:', await page.textContent('#message'));
} finally {
  await browser.close();
}
