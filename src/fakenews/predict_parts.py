"""Distributed ``predict``: shard the rows across processes as part files, then merge in order.

Run under a launcher (no launcher of our own): ``torchrun --nproc_per_node N -m fakenews predict
RUN_DIR --input FILE --output OUT`` or ``accelerate launch --multi_gpu --num_processes N -m fakenews
predict ...``. The rank, world size and local rank come from the ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` variables that both launchers set; the processes meet at two barriers of a gloo
process group (``MASTER_ADDR``/``MASTER_PORT`` from the launcher).

Every process streams the whole input (so each one checks every row and all fail alike on a bad
one) and scores only the chunks it owns: chunk ``k`` (rows ``[k * C, (k + 1) * C)`` for
``--chunk-size C``) belongs to rank ``k % world_size``. Each scored chunk is written atomically as
``OUT.parts/chunk-<k>.<ext>``; a chunk whose part exists is skipped, so a rerun after ``kill -9``
of any process (with any number of processes) redoes only the missing chunks. After the second
barrier rank 0 merges the parts in chunk order into a temporary file beside ``OUT``, renames it
into place and removes ``OUT.parts``. Parts are written by the same encoder as a single-process
run, so the merged output is byte-identical to it.

``OUT.parts/manifest.json`` records what the parts are of (input path, size and mtime, run dir,
chunk size, formats, columns, inference options): a rerun with anything different refuses to
reuse them, in one line.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fakenews.errors import FakeNewsError
from fakenews.io import write_json
from fakenews.predict_input import Chunk, InputReader
from fakenews.predict_output import OutputTarget, RowsWriter, Scored, part_preds, write_part_file
from fakenews.progress import track

logger = logging.getLogger(__name__)

CHUNK_DELAY_ENV = "FAKENEWS_PREDICT_CHUNK_DELAY"
"""Test hook: seconds to sleep after each part written, so a test can kill a process mid-run."""
BARRIER_TIMEOUT = timedelta(hours=24)
"""How long rank 0 waits at a barrier for the slowest process (gloo's default is 30 minutes)."""
PART_EXTENSIONS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}


@dataclass(frozen=True)
class World:
    """This process's place among the launched ones (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``)."""

    size: int = 1
    rank: int = 0
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> World:
        values = {}
        for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
            raw = os.environ.get(key, "")
            try:
                values[key] = int(raw) if raw else (1 if key == "WORLD_SIZE" else 0)
            except ValueError:
                raise FakeNewsError(
                    f"the launcher's {key} should be a whole number, found {raw!r}; "
                    "start predict with torchrun or accelerate launch, or unset it."
                ) from None
        return cls(values["WORLD_SIZE"], values["RANK"], values["LOCAL_RANK"])

    @property
    def label(self) -> str:
        return f"rank {self.rank}/{self.size}"


def parts_dir(output: Path) -> Path:
    """``OUT.parts`` beside ``OUT``."""
    return output.with_name(output.name + ".parts")


def part_path(parts: Path, index: int, fmt: str) -> Path:
    return parts / f"chunk-{index:06d}.{PART_EXTENSIONS[fmt]}"


def input_identity(reader: InputReader) -> dict[str, Any]:
    """Path, size and mtime of a file input; stdin cannot be split across processes."""
    path = reader.source.path
    if path is None:
        raise FakeNewsError(
            "a distributed predict (or a resumed one) reads --input from a file, not stdin: "
            "every process reads the whole input; save it to a file and pass --input FILE."
        )
    stat = path.stat()
    return {"input": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


# --------------------------------------------------------------------------- the manifest


def check_manifest(parts: Path, expected: dict[str, Any]) -> None:
    """Refuse parts written for another input, run or setting (one line naming the first)."""
    path = parts / "manifest.json"
    if not parts.exists():
        return
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    if not isinstance(found, dict):
        raise FakeNewsError(
            f"{parts} holds no readable manifest.json, so its parts cannot be trusted; "
            f"remove {parts} and run again."
        )
    for key, value in expected.items():
        if found.get(key) != value:
            raise FakeNewsError(
                f"{parts} holds parts of another prediction ({key} was {found.get(key)!r}, now "
                f"{value!r}); remove {parts} to start over, or rerun with the same input and options."
            )


# --------------------------------------------------------------------------- the process group


@contextlib.contextmanager
def process_group(world: World) -> Iterator[None]:
    """A gloo process group for the barriers (none for a single process)."""
    if world.size == 1:
        yield
        return
    import torch.distributed as dist  # heavy; only a distributed run needs it

    if not dist.is_initialized():
        dist.init_process_group(
            "gloo", rank=world.rank, world_size=world.size, timeout=BARRIER_TIMEOUT
        )
    try:
        yield
    finally:
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.size > 1:
        import torch.distributed as dist

        dist.barrier()


def rank_device(world: World, device: str) -> str:
    """``cuda:LOCAL_RANK`` for ``auto`` when GPUs are there and the run is distributed (modulo
    the GPU count: more processes than GPUs share them)."""
    if world.size == 1 or device != "auto":
        return device
    import torch

    if not torch.cuda.is_available():
        return device
    return f"cuda:{world.local_rank % torch.cuda.device_count()}"


# --------------------------------------------------------------------------- the run


def predict_in_parts(
    reader: InputReader,
    target: OutputTarget,
    manifest: dict[str, Any],
    score: Callable[[], Callable[[Chunk], Scored]],
    *,
    world: World,
    quiet: bool,
) -> tuple[int, int] | None:
    """Score this process's chunks into ``OUT.parts``; on rank 0 merge them into ``OUT``.

    ``score()`` loads the predictor (after the first chunk was read, so a bad column fails
    before any loading) and returns the chunk scorer. Returns rank 0's ``(n_real, n_fake)`` of
    the merged output, ``None`` on the other ranks.
    """
    if target.path is None:
        raise FakeNewsError(
            "a distributed predict writes one file: pass --output FILE (stdout is not split)."
        )
    parts = parts_dir(target.path)
    check_manifest(parts, manifest)
    chunks = reader.chunks()
    first = next(chunks, None)
    with process_group(world):
        created = world.rank == 0 and _create_parts(parts, manifest)
        barrier(world)
        try:
            scorer = score()
            _score_own_chunks(itertools.chain([first] if first else [], chunks), parts, target.format, scorer, world, quiet)  # fmt: skip
        except FakeNewsError:
            if created:  # the input itself is bad: a rerun could not reuse these parts
                shutil.rmtree(parts, ignore_errors=True)
            raise
        barrier(world)
        if world.rank != 0:
            return None
        n_chunks = math.ceil(reader.n_rows / reader.chunk_size)
        return _merge(parts, n_chunks, target)


def _create_parts(parts: Path, manifest: dict[str, Any]) -> bool:
    """Make ``OUT.parts`` with its manifest; whether this run created it."""
    if (parts / "manifest.json").exists():
        return False
    try:
        parts.mkdir(parents=True, exist_ok=True)
        write_json(parts / "manifest.json", manifest)
    except OSError as exc:
        raise FakeNewsError(
            f"cannot write the parts folder {parts}: {exc.strerror or exc}; "
            "choose an --output in a folder you can write to."
        ) from None
    return True


def _score_own_chunks(
    chunks: Iterator[Chunk],
    parts: Path,
    fmt: str,
    score: Callable[[Chunk], Scored],
    world: World,
    quiet: bool,
) -> None:
    """Score and write every chunk this rank owns whose part is not there yet."""
    delay = float(os.environ.get(CHUNK_DELAY_ENV) or 0)
    scored = skipped = 0
    for chunk in track(chunks, description=f"predicting ({world.label})", quiet=quiet):
        if chunk.index % world.size != world.rank:
            continue
        part = part_path(parts, chunk.index, fmt)
        if part.exists():
            skipped += 1
            continue
        _write_part(part, score(chunk), fmt)
        scored += 1
        if delay:
            time.sleep(delay)
    logger.info(
        "%s: scored %d chunk(s), skipped %d finished chunk(s) of an earlier run",
        world.label,
        scored,
        skipped,
    )


def _write_part(part: Path, scored: Scored, fmt: str) -> None:
    """One part, atomically: a temporary file in the parts dir renamed into place."""
    fd, name = tempfile.mkstemp(prefix=f".{part.name}.tmp-", dir=part.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write_part_file(handle, scored, fmt)
        os.replace(name, part)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _merge(parts: Path, n_chunks: int, target: OutputTarget) -> tuple[int, int]:
    """Rank 0: every part in chunk order into the output (atomically), then remove the parts."""
    paths = [part_path(parts, k, target.format) for k in range(n_chunks)]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise FakeNewsError(
            f"{parts} lacks {len(missing)} part(s) after every process finished (first "
            f"{missing[0]}); run the same command again to score them."
        )
    counts = [0, 0]
    with target.open() as handle:
        writer = RowsWriter(handle, target.format)
        for path in paths:
            writer.write_part(path)
            for pred in part_preds(path, target.format):
                counts[pred] += 1
        writer.close()
    shutil.rmtree(parts, ignore_errors=True)
    logger.info("merged %d part(s) into %s", n_chunks, target.path)
    return counts[0], counts[1]
