// preview-reload.js: `vitrina serve` only — polls /__vitrina/status, reloads after a rebuild, shows build errors.
// (Placeholder until preview.py lands.)
