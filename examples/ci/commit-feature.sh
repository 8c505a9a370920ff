#!/usr/bin/env bash
# commit-feature.sh FEATURE MESSAGE: commit what this job's feature produced, and push it.
# A job advances one feature, so everything it changed belongs to that feature: its plans/ folder and
# lock, its smoke script, its runs/, the code its implementer wrote, the shared ledger (merge=union).
# devloop's per-machine state (.devloop/) ignores itself.
set -euo pipefail
f="$1"
git config user.name "devloop-ci"
git config user.email "devloop-ci@users.noreply.github.com"
git add -A
git diff --cached --quiet && exit 0
git commit -qm "$2"
for attempt in 1 2 3 4 5; do
  git pull --rebase -q && git push -q && exit 0
  sleep $((attempt * 5))
done
echo "could not push $f's work after 5 attempts" >&2
exit 1
