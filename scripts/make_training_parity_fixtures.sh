#!/usr/bin/env bash
# Writes the training-parity fixtures (engine-java/src/test/resources/fixtures/training_parity_*.safetensors):
#   1. our side: the loader's views, our initial weights and banks (TrainingParitySetup.main, from the test classes);
#   2. PyTorch's side: the official MoCo v2 and CompRess 2q / 2q-nomomentum / 1q loops run from that state
#      (scripts/training_parity_torch.py, Debian's python3-torch), with fp32-vs-fp64 noise for the tolerances.
# Needs Maven's offline repository (as the build does), Fashion-MNIST (dataset-fashion-mnist) and /usr/bin/python3 with torch.
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=engine-java/src/test/resources/fixtures
mvn -B -q -o test-compile -pl engine-java -Dnative.skip=true
cpfile="$(mktemp)"
trap 'rm -f "$cpfile"' EXIT
mvn -B -q -o dependency:build-classpath -pl engine-java -Dmdep.includeScope=test -Dmdep.outputFile="$cpfile"
java -cp "engine-java/target/classes:engine-java/target/test-classes:$(cat "$cpfile")" \
  org.compress.engine.train.TrainingParitySetup "$fixtures/training_parity_inputs.safetensors"
/usr/bin/python3 scripts/training_parity_torch.py "$fixtures/training_parity_inputs.safetensors" "$fixtures/training_parity_torch.safetensors"
