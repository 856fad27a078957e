#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter (Rasa 3.6 installs on 3.10, not on 3.11+).
# Order: $PYTHON, python3.10 on PATH, pyenv's newest 3.10.x. Exit 1 with advice when none.
set -u

is_310() {
  [ -n "$1" ] && "$1" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1
}

if [ -n "${PYTHON:-}" ]; then
  if is_310 "$PYTHON"; then command -v "$PYTHON"; exit 0; fi
  echo "PYTHON=$PYTHON is not a working Python 3.10 (with venv)." >&2
  exit 1
fi

candidate=$(command -v python3.10 2>/dev/null || true)
if is_310 "$candidate"; then echo "$candidate"; exit 0; fi

root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for dir in $(ls -d "$root"/versions/3.10.* 2>/dev/null | sort -V -r); do
  if is_310 "$dir/bin/python3.10"; then echo "$dir/bin/python3.10"; exit 0; fi
done

cat >&2 <<'MSG'
No Python 3.10 found. Mutu runs on Rasa 3.6, which needs Python 3.10 (3.11 and later do not work).
Install one, then run the command again:
  - with pyenv:        pyenv install 3.10.13
  - on Debian/Ubuntu:  apt-get install python3.10 python3.10-venv   (or the deadsnakes PPA)
  - or point to one:   make run PYTHON=/path/to/python3.10
MSG
exit 1
