// graphql-js's standard introspection, as GraphiQL, code generators and
// graphql-inspector send it, against a running Whistle; then buildClientSchema on the
// answer, as a client builds its schema. Usage: node introspect.mjs URL TOKEN.
// Prints one JSON line: the schema's root types, type count, and the SDL printed from
// the introspection result (which must equal the checked-in schema's meaning).
import { buildClientSchema, getIntrospectionQuery, printSchema } from "graphql";

const [url, token] = process.argv.slice(2);
const query = getIntrospectionQuery({
  descriptions: true,
  specifiedByUrl: true,
  directiveIsRepeatable: true,
  schemaDescription: true,
  inputValueDeprecation: true,
});
const response = await fetch(url, {
  method: "POST",
  headers: {
    "content-type": "application/json",
    accept: "application/graphql-response+json",
    authorization: `Bearer ${token}`,
  },
  body: JSON.stringify({ query, operationName: "IntrospectionQuery" }),
});
const body = await response.json();
if (response.status !== 200 || body.errors) {
  console.log(JSON.stringify({ ok: false, status: response.status, body }));
  process.exit(1);
}
const schema = buildClientSchema(body.data);
console.log(JSON.stringify({
  ok: true,
  query: schema.getQueryType()?.name,
  mutation: schema.getMutationType()?.name,
  subscription: schema.getSubscriptionType()?.name,
  types: Object.keys(schema.getTypeMap()).length,
  sdl: printSchema(schema),
}));
