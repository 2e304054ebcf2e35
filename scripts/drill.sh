#!/usr/bin/env bash
# A real recovery, end to end, in a few seconds: builds a small git forge in DIR, takes its
# nightly backup, pushes more commits (the data the fire will take), destroys the forge,
# walks runbooks/git-forge-restore.yml with drbook to restore it, and writes the
# post-mortem. Exits 0 only if every restored repository passes git fsck and its refs
# equal the backup's manifest. Nothing outside DIR is read or written, except drbook itself.
#
#   scripts/drill.sh [--break REPO] [--setup-only] [DIR]
#
# DIR: a new or empty directory (default: a new temp directory, kept for you to look at).
# --break REPO: truncate REPO's bundle after the backup, as a failing disk would: the walk
#   must stop at the bundle check, and `drbook undo --yes` must put the forge URL back.
# --setup-only: build the scene (forge, backups, lost commits, destroyed forge), print the
#   drbook command, and stop.
set -euo pipefail

usage() { echo "usage: scripts/drill.sh [--break REPO] [--setup-only] [DIR]" >&2; exit 2; }

break_repo=
setup_only=0
while [ $# -gt 0 ]; do
  case $1 in
    --break) [ $# -ge 2 ] || usage; break_repo=$2; shift ;;
    --break=*) break_repo=${1#--break=} ;;
    --setup-only) setup_only=1 ;;
    -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "drill: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
  shift
done
[ $# -le 1 ] || usage
case $break_repo in
  '' | app | infra | website) ;;
  *) echo "drill: --break $break_repo: the drill's repositories are app, infra and website" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd -P)
[ -f "$root/dist/drbook.cjs" ] || { echo "drill: $root/dist is not built: run npm run build" >&2; exit 2; }
drbook() { node "$root/bin/drbook.cjs" "$@"; }
# Runs a command without its chatter, which is shown only if it fails.
quiet() { local out; out=$("$@" 2>&1) || { printf '%s\n' "$out" >&2; return 1; }; }

if [ $# -eq 1 ]; then
  mkdir -p -- "$1"
  [ -z "$(ls -A -- "$1")" ] || { echo "drill: $1 is not empty: give a new or empty directory" >&2; exit 2; }
  dir=$(cd -- "$1" && pwd -P)
else
  dir=$(cd "$(mktemp -d "${TMPDIR:-/tmp}/drbook-drill.XXXXXX")" && pwd -P)
fi

# Git as on a fresh machine: no system or global config (a global commit.gpgsign or hook
# path would change the drill), a fixed identity. GIT_AUTHOR_DATE/GIT_COMMITTER_DATE, when
# set by the caller, make every commit id reproducible.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME='Drill Developer' GIT_AUTHOR_EMAIL=dev@forge.drill.invalid
export GIT_COMMITTER_NAME='Drill Developer' GIT_COMMITTER_EMAIL=dev@forge.drill.invalid
export DRBOOK_HOME="$dir/drbook-home"

forge=$dir/forge
backups=$dir/backups
work=$dir/clones
restored=$dir/forge-restored
url=$dir/forge-url
say() { printf 'drill: %s\n' "$*" >&2; }
# Times to the millisecond, from node (date(1) has no portable milliseconds): the drill's
# data-loss window lasts well under a second.
now_ms() { node -p 'Date.now()'; }
iso() { node -p "new Date($1).toISOString()"; }
stamp() { node -p "new Date($1).toISOString().replace(/[-:]|\\.\\d+/g, '')"; }

# --- The forge: bare repositories, each pushed from a developer's clone (in clones/). ----
commit() { # REPO FILE TEXT MESSAGE
  mkdir -p "$(dirname "$work/$1/$2")"
  printf '%s\n' "$3" >> "$work/$1/$2"
  git -C "$work/$1" add "$2"
  git -C "$work/$1" commit -q -m "$4"
}
new_repo() { # REPO DESCRIPTION
  git init -q --bare --initial-branch=main "$forge/$1.git"
  printf '%s\n' "$2" > "$forge/$1.git/description"
  git init -q --initial-branch=main "$work/$1"
  git -C "$work/$1" remote add origin "$url/$1.git" # through the forge URL, as developers do
}
push() { git -C "$work/$1" push -q origin --all && git -C "$work/$1" push -q origin --tags; }

mkdir -p "$forge" "$backups" "$work"
ln -s forge "$url"

new_repo app 'The application'
commit app README.md '# app' 'Start the application'
commit app src/main.sh 'echo hello' 'Say hello'
git -C "$work/app" tag -a v1.0 -m 'First release'
git -C "$work/app" checkout -q -b release/1.x
commit app src/main.sh 'echo hello, stable' 'Stable greeting for 1.x'
git -C "$work/app" checkout -q main
commit app src/main.sh 'echo hello, world' 'Greet the world'
git --git-dir="$forge/app.git" config receive.denyNonFastForwards true
git --git-dir="$forge/app.git" config receive.denyDeletes true
printf '#!/bin/sh\n# Refuse pushes to main that are not signed off.\nexit 0\n' > "$forge/app.git/hooks/pre-receive"
chmod +x "$forge/app.git/hooks/pre-receive"
push app

new_repo infra 'Configuration of the servers'
commit infra hosts 'web1 10.0.0.10' 'List the web server'
commit infra hosts 'db1 10.0.0.20' 'List the database server'
git -C "$work/infra" tag deployed-2026-03
git -C "$work/infra" checkout -q -b staging
commit infra hosts 'web2 10.0.0.11' 'Stage a second web server'
git -C "$work/infra" checkout -q main
push infra

new_repo website 'The public website'
commit website index.html '<h1>Welcome</h1>' 'Home page'
push website

# --- The nightly backup: one bundle a repository, its hooks and config, a manifest. -----
backup() { # UNIX-TIME
  local set=$backups/$(stamp "$1") repo name head
  mkdir -p "$set/hooks" "$set/config"
  iso "$1" > "$set/time"
  for repo in "$forge"/*.git; do
    name=$(basename "$repo" .git)
    head=$(git --git-dir="$repo" symbolic-ref HEAD)
    git --git-dir="$repo" bundle create -q "$set/$name.bundle" --all
    printf 'repo %s %s\n' "$name" "$head" >> "$set/manifest"
    git --git-dir="$repo" for-each-ref --format="ref $name %(objectname) %(refname)" >> "$set/manifest"
    cp "$repo/config" "$set/config/$name.config"
    mkdir "$set/hooks/$name"
    find "$repo/hooks" -type f ! -name '*.sample' -exec cp -p {} "$set/hooks/$name/" \;
  done
  touch "$set/COMPLETE"
  printf '%s\n' "$set"
}

now=$(now_ms)
# The previous night's set (dated 24 h earlier): older, so the restore must not pick it.
backup $((now - 86400000)) > /dev/null
commit app src/main.sh 'echo hello, world!' 'Punctuate the greeting'
push app
latest=$(backup "$(now_ms)")
backup_time=$(cat "$latest/time")
say "backup taken at $backup_time: $latest"

# --- After the backup: pushes the fire will take. ---------------------------------------
commit app src/main.sh 'echo "hello, $USER"' 'Greet the user by name'
commit app CHANGELOG.md '- greet by name' 'Note the greeting in the changelog'
git -C "$work/app" checkout -q -b feature/search
commit app src/search.sh 'grep -r "$1" .' 'Add a search command'
git -C "$work/app" checkout -q main
commit infra hosts 'cache1 10.0.0.30' 'List the cache server'
push app
push infra

# What the forge had that the backup does not: the post-mortem's data loss.
: > "$dir/lost-commits.txt"
for repo in "$forge"/*.git; do
  name=$(basename "$repo" .git)
  # shellcheck disable=SC2046 # one argument per object id
  git --git-dir="$repo" log --format="$name %h %s" --all --not $(awk -v r="$name" '$1 == "ref" && $2 == r { print $3 }' "$latest/manifest") >> "$dir/lost-commits.txt"
done
lost=$(wc -l < "$dir/lost-commits.txt" | tr -d ' ')
say "$lost commits pushed after the backup"

# --- The fire. ----------------------------------------------------------------------------
destroyed_at=$(iso "$(now_ms)")
printf '%s\n' "$destroyed_at" > "$dir/destroyed-at"
rm -rf "$forge" # the developers' clones survive: they still have the lost commits
say "forge destroyed at $destroyed_at"

if [ -n "$break_repo" ]; then
  bundle=$latest/$break_repo.bundle
  size=$(wc -c < "$bundle" | tr -d ' ')
  head -c $((size / 2)) "$bundle" > "$bundle.cut" && mv "$bundle.cut" "$bundle"
  say "bundle of $break_repo truncated to $((size / 2)) of $size bytes"
fi

# Paths relative to the drill directory, where drbook runs: as the runbook's defaults are.
vars=(--var backup_dir=backups --var forge_root=forge-restored --var forge_url=forge-url)
if [ "$setup_only" = 1 ]; then
  printf 'cd %q && DRBOOK_HOME=%q GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 node %q run git-forge-restore' "$dir" "$DRBOOK_HOME" "$root/bin/drbook.cjs"
  printf ' %q' --dir "$root/runbooks" "${vars[@]}" --yes
  printf '\n'
  exit 0
fi

# --- The recovery, walked by drbook as an operator would with --yes. ---------------------
cd "$dir"
set +e
drbook run "$root/runbooks/git-forge-restore.yml" "${vars[@]}" --yes
run_status=$?
set -e
session=$(basename "$(ls "$DRBOOK_HOME"/sessions/*.jsonl | tail -n 1)" .jsonl)

if [ -n "$break_repo" ]; then
  [ "$run_status" = 1 ] || { say "FAILED: the walk with a truncated bundle exited $run_status, not 1"; exit 1; }
  say "the walk stopped on the truncated bundle (exit 1); the forge URL now points at $(readlink "$url")"
  drbook undo "$session" --yes
  [ "$(readlink "$url")" = forge ] || { say "FAILED: after drbook undo the forge URL points at $(readlink "$url")"; exit 1; }
  drbook export "$session" -o "$dir/postmortem.md"
  say "drbook undo put the forge URL back: $url -> forge"
  say "post-mortem: $dir/postmortem.md"
  exit 0
fi
[ "$run_status" = 0 ] || { say "FAILED: drbook run exited $run_status"; exit 1; }

# The operator's part of the post-mortem: when the impact started, and what it took.
quiet drbook mark impact-started --session "$session" --at "$destroyed_at" 'forge disk lost'
cut -d ' ' -f 1 "$dir/lost-commits.txt" | sort -u | while read -r name; do
  quiet drbook note --session "$session" --at "$destroyed_at" \
    "$name: lost with the forge, pushed after the backup of $backup_time: $(awk -v r="$name" '$1 == r { $1 = ""; sub(/^ /, ""); printf "%s%s", sep, $0; sep = "; " }' "$dir/lost-commits.txt")"
done
drbook export "$session" -o "$dir/postmortem.md"

# --- Checked here again, not taken from the runbook's word. -------------------------------
failed=0
while read -r kind name head_ref; do
  [ "$kind" = repo ] || continue
  repo=$restored/$name.git
  if ! git --git-dir="$repo" fsck --full --strict --no-dangling --no-progress > /dev/null; then
    say "FAILED: git fsck of $name"; failed=1
  fi
  want=$(awk -v r="$name" '$1 == "ref" && $2 == r' "$latest/manifest" | sort)
  have=$(git --git-dir="$repo" for-each-ref --format="ref $name %(objectname) %(refname)" | sort)
  [ "$want" = "$have" ] || { say "FAILED: the refs of $name differ from the manifest"; failed=1; }
  [ "$(git --git-dir="$repo" symbolic-ref HEAD)" = "$head_ref" ] || { say "FAILED: HEAD of $name"; failed=1; }
done < "$latest/manifest"
[ "$(cd "$url" && pwd -P)" = "$restored" ] || { say "FAILED: $url does not lead to $restored"; failed=1; }
[ "$failed" = 0 ] || exit 1

# The verdicts as the post-mortem words them, without the markdown.
verdict() { grep -m 1 "^- $1" "$dir/postmortem.md" | sed -e 's/^- //' -e 's/\*\*//g' || echo "$1: not in the post-mortem"; }
say "every restored repository passes git fsck --full and its refs equal the manifest"
say "$(verdict 'Recovery time')"
say "$(verdict 'Data-loss window')"
say "$lost commits lost (pushed after the backup): $dir/lost-commits.txt"
say "post-mortem: $dir/postmortem.md"
