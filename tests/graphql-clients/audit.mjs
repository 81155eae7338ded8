// graphql-http's GraphQL-over-HTTP server audit against a running Whistle.
// Usage: node audit.mjs URL TOKEN. Prints one JSON line: every audit's id, name and
// status ("ok", "notice", "warn" = a SHOULD not met, "error" = a MUST not met) and
// the reason of each that is not ok. The token goes on every request the audit sends.
import { auditServer } from "graphql-http";

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node audit.mjs URL TOKEN");
  process.exit(2);
}
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set("authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const report = [];
for (const result of results) {
  const entry = { id: result.id, name: result.name, status: result.status };
  if (result.status !== "ok") {
    entry.reason = result.reason;
    if (result.response) {
      entry.responseStatus = result.response.status;
      try {
        entry.responseBody = (await result.response.text()).slice(0, 500);
      } catch (_) {
        entry.responseBody = "(unreadable)";
      }
    }
  }
  report.push(entry);
}
console.log(JSON.stringify(report));
