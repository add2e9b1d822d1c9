#!/usr/bin/env bash
# Everything in specc that needs a GPU, in one command, ending in one table. Every step has a
# timeout; together at most 10 minutes (180 + 180 + 3 x 80 s).
#
#   bash bench/gpu.sh            # from the repository root, in the environment that has torch
#
# 1. tests/torch/test_cuda.py: device resolution on a real GPU, IEEE/deterministic numerics,
#    CUDA = CPU, repeatability, data kept off the device, AMP (bf16, fp16 + scaler), the fp16
#    skipped step with the fused optimizer, torch.compile.
# 2. With two GPUs or more: the DDP tests over NCCL (tests/torch/test_distributed*.py with
#    SPECC_TEST_DEVICE=cuda): empty shard, batchnorm over the global batch, early stopping,
#    a failing rank ending the run. With one GPU these rows say "skipped (1 GPU)".
# 3. bench/torch_epoch.py on the GPU: samples/s of the backend over a hand-written resident
#    loop and a DataLoader loop (IEEE default, --fast-math, and --off-device: the backend's
#    data staged from pinned host memory while the baselines stay resident).
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
LOG=${GPU_LOG:-$(mktemp -d)}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
ROWS=()

row() { ROWS+=("$(printf '%-44s | %-8s | %s' "$1" "$2" "$3")"); }

# pytest's last line ("3 passed, 1 skipped in 9.1s") as the detail of a row
pytest_row() {
    local name=$1 log=$2 rc=$3 summary
    summary=$(grep -E "passed|failed|error|skipped" "$log" | tail -n 1 | sed 's/=//g; s/^ *//')
    if [ "$rc" -eq 0 ]; then row "$name" PASS "$summary"; else row "$name" FAIL "$summary (log: $log)"; fi
}

GPUS=$($PY -c "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)" 2>/dev/null || echo 0)
NAME=$($PY -c "import torch; print(torch.cuda.get_device_name(0))" 2>/dev/null || echo none)
T0=$(date +%s)

if [ "$GPUS" -eq 0 ]; then
    row "CUDA visible" FAIL "torch sees no GPU: nothing to check"
else
    timeout 180 $PY -m pytest -q -rs tests/torch/test_cuda.py >"$LOG/cuda.log" 2>&1
    pytest_row "CUDA, AMP, compile (test_cuda.py)" "$LOG/cuda.log" $?

    if [ "$GPUS" -ge 2 ]; then
        SPECC_TEST_DEVICE=cuda timeout 180 $PY -m pytest -q tests/torch/test_distributed.py \
            tests/torch/test_distributed_driver.py >"$LOG/nccl.log" 2>&1
        pytest_row "DDP over NCCL, 2 GPUs (test_distributed*)" "$LOG/nccl.log" $?
    else
        row "DDP over NCCL (test_distributed*)" SKIP "1 GPU"
    fi

    for mode in default fast-math off-device; do
        flag=""; [ "$mode" != default ] && flag="--$mode"
        timeout 80 $PY bench/torch_epoch.py --device cuda --samples 20000 --repeat 2 $flag \
            >"$LOG/bench-$mode.log" 2>&1
        rc=$?
        for kind in mlp cnn; do
            ratios=$(awk -v k="$kind:" '$1 == k {on=1; next} /^[a-z]+:/ {on=0}
                     on && /ratio backend\/resident/ {r=$NF} on && /ratio backend\/dataloader/ {d=$NF}
                     on && /backend / {s=$2} END {print s " samples/s, x" r " resident, x" d " dataloader"}' \
                     "$LOG/bench-$mode.log")
            if [ "$rc" -eq 0 ]; then row "torch_epoch $kind ($mode)" BENCH "$ratios"; else
                row "torch_epoch $kind ($mode)" FAIL "exit $rc (log: $LOG/bench-$mode.log)"; fi
        done
    done
fi

echo
echo "specc GPU check: $GPUS x $NAME, $(( $(date +%s) - T0 )) s, logs in $LOG"
printf '%-44s | %-8s | %s\n' "check" "result" "detail"
printf '%s\n' "---------------------------------------------+----------+------------------------------"
printf '%s\n' "${ROWS[@]}"
! printf '%s\n' "${ROWS[@]}" | grep -q "| FAIL "
