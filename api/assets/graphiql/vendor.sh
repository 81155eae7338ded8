#!/usr/bin/env bash
# Refresh the GraphiQL build served at GET /graphql from the versions pinned in
# package.json and package-lock.json (integrity hashes checked by npm ci): copy the four
# browser files, collect the licence of every package inside them into LICENSES.txt, and
# record SHA-256 sums (the test suite checks the served files against SHA256SUMS).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$work/"
if [ -f "$here/package-lock.json" ]; then
  cp "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
else
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error)
  cp "$work/package-lock.json" "$here/"
fi
m="$work/node_modules"
cp "$m/graphiql/graphiql.min.js" "$m/graphiql/graphiql.min.css" "$here/"
cp "$m/react/umd/react.production.min.js" "$m/react-dom/umd/react-dom.production.min.js" "$here/"
# The packages webpack put inside graphiql.min.js, named by their module paths.
bundled=$(grep -o 'node_modules/\(@[a-z0-9._-]*/\)\?[a-z0-9._-]*' "$m/graphiql/graphiql.min.js" |
  sed 's|.*node_modules/||' | sort -u)
{
  echo "Licences of the software in the GraphiQL page served at GET /graphql."
  echo "graphiql.min.js and graphiql.min.css are graphiql's own browser build; it contains"
  echo "the packages listed after graphiql (versions as installed beside it by npm)."
  for package in graphiql react react-dom $bundled; do
    dir="$m/$package"
    [ -d "$dir" ] || dir=$(find "$m" -path "*/node_modules/$package" -type d | head -1)
    if [ -z "$dir" ] || [ ! -f "$dir/package.json" ]; then
      # Bundled at graphiql's build but not one of its runtime dependencies: the
      # package's licence is taken from its latest published version.
      mkdir -p "$work/packed/$package"
      tarball=$(cd "$work/packed" && npm pack --silent "$package" | tail -1)
      tar -xzf "$work/packed/$tarball" -C "$work/packed/$package"
      dir="$work/packed/$package/package"
    fi
    version=$(node -p "require('$dir/package.json').version")
    licence=$(node -p "JSON.stringify(require('$dir/package.json').license || 'see below')")
    echo
    echo "================================================================================"
    echo "$package $version — $licence"
    echo "================================================================================"
    file=$(ls "$dir" | grep -i -E '^(licen[cs]e|copying)' | head -1 || true)
    if [ -n "$file" ]; then
      cat "$dir/$file"
    else
      echo "(the package ships no licence file; its package.json declares $licence)"
    fi
  done
} > "$here/LICENSES.txt"
(cd "$here" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js \
  react-dom.production.min.js > SHA256SUMS)
echo "GraphiQL assets refreshed in $here"
