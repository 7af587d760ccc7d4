"""Records grouped into shards (the unit of output and of resuming) and batches (of requests).

Shards are numbered in input order across all files, and never span two files, so shard k is
the same records on every run over the same input: that is what lets a rerun skip the shards
it finished. A skipped shard is still read past (JSON lines and CSV have no index) but not
decoded; its size is checked against what was recorded when it was written, so an input that
changed under a run is caught instead of silently shifting every later shard.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from modelops_plugins.batch.records import (
    InputFileError,
    Record,
    RecordReader,
    TensorChoice,
    open_reader,
)
from modelops_plugins.batch.sources import InputFile
from modelops_plugins.batch.tensors import RecordInputs, Uniform


@dataclass(frozen=True)
class ShardStart:
    index: int
    source: InputFile


@dataclass
class Batch:
    """Records of one shard sent together: stacked already (`uniform`), or decoded one by one
    (`decoded()`: per record its inputs or why it failed, worked out when first asked)."""

    index: int           # the shard it belongs to
    records: list[Record]
    reader: RecordReader
    position: int        # bytes of the file consumed once it was read
    uniform: Uniform | None = None
    _decoded: list[RecordInputs | str] | None = None

    def decoded(self) -> list[RecordInputs | str]:
        if self._decoded is None:
            self._decoded = [self.reader.decode(r) for r in self.records]
        return self._decoded


@dataclass(frozen=True)
class ShardEnd:
    index: int
    source: InputFile
    records: int


@dataclass(frozen=True)
class ShardSkipped:
    index: int
    source: InputFile
    records: int
    position: int


Event = ShardStart | Batch | ShardEnd | ShardSkipped


def events(files: list[InputFile], *, shard_size: int, batch_size: int,
           done: Mapping[int, tuple[str, int]],
           choice: TensorChoice | None) -> Iterator[Event]:
    """Shards in order: skipped ones (`done`: index -> (file, records) as recorded), or a start,
    its batches (decoded) and an end."""
    index = 0
    for source in files:
        reader = open_reader(source, choice)
        try:
            while True:
                if index in done:
                    recorded_file, recorded = done[index]
                    skipped = reader.skip(shard_size)
                    if skipped == 0:
                        break
                    if (recorded_file, recorded) != (source.display, skipped):
                        raise InputFileError(
                            f"{source.display}: the input changed since this run started: "
                            f"shard {index} was {recorded} record(s) of {recorded_file}, now "
                            f"{skipped} of {source.display}; start a new run (--run-id)")
                    yield ShardSkipped(index, source, skipped, reader.position)
                    index += 1
                    continue
                records = reader.read(min(batch_size, shard_size))
                if not records:
                    break
                yield ShardStart(index, source)
                count = 0
                while records:
                    count += len(records)
                    batch = Batch(index, records, reader, reader.position,
                                  reader.decode_uniform(records))
                    if batch.uniform is None:
                        batch.decoded()   # in reading order: CSV checks widths as it goes
                    yield batch
                    if count >= shard_size:
                        break
                    records = reader.read(min(batch_size, shard_size - count))
                yield ShardEnd(index, source, count)
                index += 1
        finally:
            reader.close()
