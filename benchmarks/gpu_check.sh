#!/usr/bin/env bash
# The GPU check of issue 7, as one prepared run (about 5-8 minutes on one H100/H200-class GPU):
# ALBERT-base architecture (scratch:albert, model.size=base) at 512 tokens, training articles/s and
# MFU of the study's recipe (pad to 512, random order, batch 16 x accumulation 2, fp16) vs ours
# (dynamic padding, length-grouped batches, bf16), then inference: Trainer.predict fp16 at 512
# vs the Predictor in fp32 and bf16. Results land in benchmarks/results/*-gpu-*.json.
#
#   DATA=path/to/welfake_sample1000.csv bash benchmarks/gpu_check.sh
set -euo pipefail
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/data/welfake_sample1000/welfake_sample1000.csv}
export HF_HUB_OFFLINE=1
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU visible'; print(torch.cuda.get_device_name(0))"
"$PY" benchmarks/bench_training.py --model scratch:albert --set model.size=base --articles 960 --data "$DATA" \
  --recipes study,ours --rounds 2
"$PY" benchmarks/bench_inference.py --device cuda --n-articles 512 --rounds 3 --data "$DATA" \
  --paths study,torch-fp32,torch-bf16
