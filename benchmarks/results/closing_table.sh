#!/bin/bash
# The commands behind docs/study.md "Efficiency, measured here" (issue 14's closing table), as run
# on 2026-12-02 on the shared 2-core machine, every job under `nice -n 10`. S = scratch folder.
set -euo pipefail
S=${S:-/work/scratch/distill}; R=$S/runs; F="nice -n 10 python -m fakenews"
fakenews models fetch mpnet-base                      # transcript: benchmarks/results/mpnet_fetch.txt
$F prepare ../shared/data/fakenewsnet_politifact/fakenewsnet_politifact.csv -o $S/pf -q
$F prepare ../shared/data/welfake_sample1000/welfake_sample1000.csv -o $S/wf -q
# PolitiFact: preset defaults; mpnet-base cut to 64 tokens, 1 epoch (CPU budget)
$F train $S/pf --model tfidf-logreg --out $R/pf-tfidf -q
$F train $S/pf --model minilm-l6 --out $R/pf-minilm -q
$F train $S/pf --model minilm-l6 --set model.keep_layers=3 --set train.torch_threads=1 --out $R/pf-minilm3 -q
$F train $S/pf --model mpnet-base --set data.max_length=64 --set train.epochs=1 --set train.torch_threads=1 --out $R/pf-mpnet -q
# the student's teacher: the best by validation accuracy among the runs finished when it started
$F distill $R/pf-tfidf $S/pf --student minilm-l6 --set model.keep_layers=3 --set train.torch_threads=1 --out $R/pf-student -q
# WELFake sample: the transformers at 64 tokens for 1 epoch (CPU budget); the student's teacher:
# tfidf-logreg, the best by validation accuracy among the runs finished when it started
W="--set data.max_length=64 --set train.epochs=1 --set train.torch_threads=1"
$F train $S/wf --model tfidf-logreg --out $R/wf-tfidf -q
$F train $S/wf --model minilm-l6 $W --out $R/wf-minilm -q
$F train $S/wf --model minilm-l6 --set model.keep_layers=3 $W --out $R/wf-minilm3 -q
$F distill $R/wf-tfidf $S/wf --student minilm-l6 --set model.keep_layers=3 $W --out $R/wf-student -q
for r in $R/pf-* $R/wf-*; do
  $F evaluate $r -q
  $F benchmark $r --n-articles 30 --batch-size 16 --threads 1 -q   # re-run for all 9 in a row at the end (closing_table_rebench.log)
done
$F compare $R/pf-* --out $R/report-pf -q
$F compare $R/wf-* --out $R/report-wf -q
python benchmarks/results/closing_table_summarize.py   # comparison.json + train_summary.json -> benchmarks/results/closing_table.json
