#!/usr/bin/env bash
# Sets up genjax from scratch: a virtual environment in .venv with the package and its
# test tools, and Debian's Fashion-MNIST when its files are missing. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq dataset-fashion-mnist
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "genjax is set up in $(pwd)/.venv"
