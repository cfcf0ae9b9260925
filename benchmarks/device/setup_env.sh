# Sourced by check.sh and target.sh (from the repository root): $OUT, $PY, the carried wheels installed
# into /tmp/site, PYTHONPATH (those wheels, then this checkout), $OUT/machine.txt (the GPU and torch), then
# the CUDA tests (pytest -m cuda, at most $1 seconds) into $OUT/cuda_tests.log with their summary line
# appended to machine.txt.
OUT="${OUT:-/tmp/mlopt_device_out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
if compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed"; exit 1; }
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}"
{ nvidia-smi -L 2>&1 || echo "no nvidia-smi"
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$OUT/machine.txt"
timeout "$1" $PY -m pytest -q -m cuda -p no:cacheprovider tests > "$OUT/cuda_tests.log" 2>&1
echo "cuda tests: rc $? ($(tail -n 1 "$OUT/cuda_tests.log"))" >> "$OUT/machine.txt"
