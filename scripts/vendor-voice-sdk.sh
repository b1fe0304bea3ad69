#!/usr/bin/env bash
# Fetch Twilio's Voice JavaScript SDK from its npm package and vendor its browser build
# into the console's static files (the pages allow only their own scripts), with its
# licence, recording the version and the file's SHA-256 in vendor/README.md.
# Usage: scripts/vendor-voice-sdk.sh [version]   (default: the version the README names)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$root/agent_console/static/vendor"
version="${1:-$(sed -n 's/^Version: //p' "$vendor/README.md")}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "@twilio/voice-sdk@$version" >/dev/null)
tar -xzf "$work"/twilio-voice-sdk-*.tgz -C "$work"
packed="$(sed -n 's/.*"version": "\([^"]*\)".*/\1/p' "$work/package/package.json" | head -1)"
cp "$work/package/dist/twilio.min.js" "$vendor/twilio-voice.min.js"
cp "$work/package/LICENSE.md" "$vendor/twilio-voice-LICENSE.md"
sha="$(sha256sum "$vendor/twilio-voice.min.js" | cut -d' ' -f1)"
cat >"$vendor/README.md" <<README
# Vendored browser code

\`twilio-voice.min.js\` is \`dist/twilio.min.js\` from the npm package \`@twilio/voice-sdk\`
(Twilio's Voice JavaScript SDK, Apache-2.0; its licence is \`twilio-voice-LICENSE.md\`).
It is served from the hub itself so the console keeps \`script-src 'self'\`. It defines
\`window.Twilio\` (\`Twilio.Device\`, \`Twilio.Call\`).

Version: $packed
SHA-256: $sha

Refresh with \`scripts/vendor-voice-sdk.sh [version]\`, then run
\`tests/agent_console/test_softphone_sdk.py\`: it fails when the new version no longer has a
method or event the console uses (listed in \`twilio-voice-api.json\`).
README
echo "vendored @twilio/voice-sdk $packed ($sha)"
