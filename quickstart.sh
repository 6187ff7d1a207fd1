#!/usr/bin/env bash
# Set up formcheck in .venv and analyse the bundled sample clip (or the clip given as $1).
# Reports land in out/: report.json, reps.csv and the pose track.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_env.sh
clip="${1:-sample_videos/hip_thrust_side_clean.mp4}"
mkdir -p out
name="$(basename "${clip%.*}")"
.venv/bin/formcheck analyze "$clip" --json "out/$name.json" --csv "out/$name.csv" --save-track "out/$name.track.npz"
echo "reports: out/$name.json out/$name.csv (pose track: out/$name.track.npz)"
