#!/usr/bin/env bash
# Sets up genjax from scratch: a virtual environment in .venv with the package and its
# test tools, and Debian's Fashion-MNIST and dict-gcide (the text families' corpus) when
# their files are missing. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")"

missing=""
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing="dataset-fashion-mnist"
[ -f /usr/share/dictd/gcide.dict.dz ] || missing="$missing dict-gcide"
if [ -n "$missing" ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # dict-gcide's dictd server is not needed: the families read its file directly.
  $sudo_cmd apt-get install -y -qq --no-install-recommends $missing
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "genjax is set up in $(pwd)/.venv"
