#!/usr/bin/env bash
# The GPU check, one call on a machine with a CUDA GPU (the device tool's `run`, from the repo's
# root), using that machine's own python3 with torch; no Qt is needed there:
#     bash scripts/gpu_check.sh            # about 6 minutes on one H200
# 1. the GPU-marked tests (tests/test_gpu.py: fp32/fp16/bf16, channels-last, deterministic
#    resume, the GAN and VAE in fp16, a session's worker; two GPUs: DDP and SyncBatchNorm);
# 2. LeNet and the DCGAN through the session against hand-written AMP loops (goal <= 1.02);
# 3. ResNet-18 at 224x224: Studio AMP + channels-last against hand-written (goal >= 1.0) and
#    against naive fp32 (goal >= 2);
# 4. with several GPUs: data-parallel LeNet on 1 against N of them.
# Each part's output is kept in $OUT (or /tmp/gpu-check), whatever the others do.
set -u
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/gpu-check}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export STUDIO_RUNS_DIR="$(mktemp -d)"
python=${PYTHON:-python3}
part() {  # part NAME SECONDS COMMAND...: run with a time limit, keep its output
    local name=$1 limit=$2
    shift 2
    echo "== $name"
    timeout "$limit" "$@" 2>&1 | tee "$out/$name.txt"
    echo "== $name: exit ${PIPESTATUS[0]}"
}
nvidia-smi -L | tee "$out/gpus.txt"
"$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'gpus', torch.cuda.device_count())" | tee -a "$out/gpus.txt"
part tests 150 "$python" -m pytest --noconftest -p no:cacheprovider -q -rs tests/test_gpu.py
part session 150 env BENCH_DEVICE=cuda BENCH_AMP=fp16 BENCH_ROUNDS=3 \
    "$python" bench/bench_session.py
part resnet 90 env BENCH_DEVICE=cuda "$python" bench/bench_resnet_step.py
gpus=$("$python" -c "import torch; print(torch.cuda.device_count())")
if [ "$gpus" -gt 1 ]; then
    part ranks 120 env BENCH_DEVICE=cuda BENCH_RANKS="1,$gpus" "$python" bench/bench_distributed.py
fi
