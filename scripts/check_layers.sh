#!/usr/bin/env bash
# The layering rules of CONTRIBUTING.md, checked over `use` paths and
# manifests, so a dependency that points the wrong way fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."

fail=0
# forbid <dir> <pattern> <rule>: no line under <dir> (comments excluded) matches <pattern>.
forbid() {
  local hits
  hits=$(grep -rnE --include='*.rs' "$2" "$1" | grep -vE '^[^:]+:[0-9]+:\s*//' || true)
  if [ -n "$hits" ]; then
    echo "layering: $3" >&2
    echo "$hits" >&2
    fail=1
  fi
}

# Nothing depends on the faces.
forbid src/app   'crate::(web|cli)\b'   'the application must not use the web or command-line faces'
forbid src/db    'crate::(web|cli)\b'   'the store must not use the web or command-line faces'
forbid src/guard 'crate::(web|cli)\b'   'guards must not use the web or command-line faces'
forbid src/setup 'crate::(web|cli)\b'   'set-up must not use the web or command-line faces'
forbid src/web   'crate::cli\b'         'the web face must not use the command line'
# The store imports only entities and the domain (and the polars thread of
# setup::offload, a runtime primitive rather than a layer).
forbid src/db    'crate::(app|guard)\b|crate::setup::(configuration|telemetry)' \
  'the store imports only entities, the domain and setup::offload'
# Guards and use cases take no actix types.
forbid src/guard 'actix'                'guards take no actix types'
forbid src/app   'actix_web|actix_multipart|actix_session' 'the application takes no actix types'
# The domain crate and the method stay pure.
forbid domain/src 'sea_orm|actix|polars|tokio|redis' 'the domain crate has no database, web, polars or runtime'
forbid analysis/src 'sea_orm|actix|tokio|redis|pingyi::' 'the analysis crate is pure'
# (`pingyi-domain` is allowed: the analysis crate parses periods with it.)
for crate in domain analysis; do
  if sed -n '/^\[dependencies\]/,/^\[/p' "$crate/Cargo.toml" | grep -qE '^(sea-orm|actix|tokio|redis|pingyi( *=|\.)|entity|migration)'; then
    echo "layering: $crate/Cargo.toml depends on a database, web or runtime crate" >&2
    fail=1
  fi
done

if [ "$fail" -ne 0 ]; then
  echo "See CONTRIBUTING.md, 'Layers'." >&2
  exit 1
fi
echo "layering: ok"
