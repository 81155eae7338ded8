// GraphiQL as a person uses it, in Debian's Chromium with no network: the page and all
// its files must come from the service on loopback (any other request is refused and
// reported), the token is typed into the Headers editor, the docs explorer shows the
// schema, and a query runs. Usage: node graphiql.mjs BASE_URL TOKEN SCREENSHOT.PNG
// Prints one JSON line: what was seen, and every request that tried to leave loopback.
import { chromium } from "playwright-core";

const [base, token, screenshot] = process.argv.slice(2);
const executablePath = process.env.WHISTLE_CHROMIUM || "/usr/bin/chromium";
const origin = new URL(base).origin;
const browser = await chromium.launch({
  executablePath,
  headless: true,
  // No name resolves except loopback's, and no proxy: the machine's network is out of
  // the browser's reach.
  args: ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-proxy-server"],
});
const outside = [];
const consoleErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith(origin + "/") || url.startsWith("data:")) {
      return route.continue();
    }
    outside.push(url);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  await page.goto(`${base}/graphql`, { waitUntil: "load" });
  await page.waitForSelector(".graphiql-container", { timeout: 30000 });
  // The token, in the Headers editor (the tools pane opens on it).
  await page.locator("button", { hasText: /^Headers$/ }).first().click();
  const headers = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror");
  await headers.waitFor({ timeout: 30000 });
  await headers.evaluate((editor, token) => {
    editor.CodeMirror.setValue(JSON.stringify({ Authorization: `Bearer ${token}` }));
  }, token);
  const typed = await headers.evaluate((editor) => editor.CodeMirror.getValue());
  if (!typed.includes("Bearer ")) throw new Error(`the Headers editor holds ${typed}`);
  // Fetch the schema with that token, then open the docs explorer.
  await page.getByRole("button", { name: /Re-fetch GraphQL schema/i }).click();
  await page.getByRole("button", { name: /Show Documentation Explorer/i }).click();
  const explorer = page.locator(".graphiql-doc-explorer");
  await explorer.getByText("Query", { exact: true }).first().waitFor({ timeout: 30000 });
  await explorer.getByText("Query", { exact: true }).first().click();
  await explorer.getByText("cases", { exact: true }).first().waitFor({ timeout: 30000 });
  const docs = (await explorer.innerText()).slice(0, 2000);
  // A query, run from the editor.
  await page.evaluate(() => {
    const query = document.querySelector(".graphiql-query-editor .CodeMirror");
    query.CodeMirror.setValue("{ me { name roleLabel unitId } cases(first: 2) { totalCount } }");
  });
  await page.locator(".graphiql-execute-button").click();
  const result = page.locator(".result-window");
  await result.getByText('"roleLabel"').waitFor({ timeout: 30000 });
  const resultText = await result.innerText();
  await page.screenshot({ path: screenshot });
  console.log(JSON.stringify({ ok: true, docs, result: resultText, outside, consoleErrors }));
} catch (error) {
  try {
    const pages = browser.contexts().flatMap((c) => c.pages());
    if (pages.length) await pages[0].screenshot({ path: screenshot });
  } catch (_) {}
  console.log(JSON.stringify({ ok: false, error: String(error), screenshot, outside, consoleErrors }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
