#!/usr/bin/env bash
# Runs the example CLI (dev.voxgate.example.VoxgateExample), compiling it first if needed.
#   clients/java/example.sh [--addr HOST:PORT] tokenize speech.wav [--text]
#   clients/java/example.sh detokenize back.wav ids.txt
#   clients/java/example.sh synthesize "Hello there." out.wav [--voice joe] [--style "speak slowly"] [--stream]
#   clients/java/example.sh chat --audio question.wav --out reply.wav   (or --text "Hello.")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cp_file=$here/target/example-classpath.txt
if [ ! -s "$cp_file" ] || [ ! -d "$here/target/classes/dev/voxgate/example" ] \
  || [ -n "$(find "$here/src/main" "$here/pom.xml" -newer "$cp_file" -print -quit)" ]; then
  (cd "$here" && mvn -q -B -Dstyle.color=never compile \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
    -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=runtime 2>&1 \
    | sed 's/\x1b\[[0-9;]*m//g' >&2)
fi
exec java -cp "$here/target/classes:$(cat "$cp_file")" dev.voxgate.example.VoxgateExample "$@"
