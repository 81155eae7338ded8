// Whistle's GraphiQL start-up (served at /graphiql/whistle-graphiql.js; no inline script,
// so the page's Content-Security-Policy allows scripts from this service only).
// The token goes in the Headers editor as {"Authorization": "Bearer …"}: HTTP requests
// send it as a header, subscriptions in the WebSocket's connectionParams.
(function () {
  "use strict";
  var url = new URL("/graphql", window.location.href).toString();
  var ws = new URL("/graphql/ws", window.location.href);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
  var fetchers = new Map();
  function fetcherFor(authorization) {
    var key = authorization || "";
    if (!fetchers.has(key)) {
      fetchers.set(key, GraphiQL.createFetcher({
        url: url,
        subscriptionUrl: ws.toString(),
        wsConnectionParams: authorization ? { Authorization: authorization } : {},
      }));
    }
    return fetchers.get(key);
  }
  // Headers left empty are not sent: without a token the schema still loads (the docs
  // explorer works), and every field that reads the record asks for one.
  function fetcher(params, options) {
    var given = (options && options.headers) || {};
    var headers = {};
    Object.keys(given).forEach(function (name) {
      var value = given[name];
      if (typeof value === "string" && value.trim() !== "" && value.trim() !== "Bearer") {
        headers[name] = value;
      }
    });
    var authorization = headers.Authorization || headers.authorization;
    return fetcherFor(authorization)(params, Object.assign({}, options, { headers: headers }));
  }
  var defaultHeaders = JSON.stringify({ Authorization: "" }, null, 2);
  var defaultQuery = [
    "# Whistle · 舆情吹哨 — put your token in the Headers tab below as",
    "# \"Authorization\": \"Bearer <token>\" (whistle token prints one), then run:",
    "{",
    "  me { name roleLabel unitId }",
    "  cases(first: 5) { totalCount nodes { id title statusLabel levelLabel } }",
    "}",
    "",
  ].join("\n");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultHeaders: defaultHeaders,
    defaultQuery: defaultQuery,
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  }));
})();
