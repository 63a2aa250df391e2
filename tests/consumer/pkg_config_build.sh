#!/bin/sh
# Builds consumer.c with the flags pkg-config gives for an installed tidal.
set -eu
prefix=$1 source=$2 out=$3
mkdir -p "$out"
export PKG_CONFIG_PATH="$(dirname "$(find "$prefix" -name tidal.pc | head -n 1)")"
cc -std=c99 $(pkg-config --cflags tidal) "$source" -o "$out/consumer" \
   $(pkg-config --libs tidal) -Wl,-rpath,"$(pkg-config --variable=libdir tidal)"
"$out/consumer"
