"""Each input format read lazily into numbered records, and each record decoded.

Reading and decoding are apart: shards a resumed run already finished are skipped without
decoding a record, and a record that cannot be decoded (a malformed line, a cell that is not a
number) becomes a failure of that record with its file and number, never a failure of the run.
Record numbers are what a person opens the file at: the line for JSON lines and CSV (one
record per line; blank lines are not records), the row (from 1) for `.npy`. Memory stays
bounded by what is asked for at a time: lines are read one by one, `.npy` rows by offset
(fsspec range reads on object stores), never the whole file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, NamedTuple, Protocol

import numpy as np

from modelops_plugins.batch.sources import InputFile
from modelops_plugins.batch.tensors import RecordInputs, Tensor, Uniform, from_request
from modelops_plugins.smoke import wire

NUMERIC_TYPES = frozenset(wire.NUMPY_TYPES) - {"BYTES", "BOOL"}
DTYPE_TO_V2 = {np.dtype(v).str: k for k, v in wire.NUMPY_TYPES.items() if k != "BYTES"}


class InputFileError(Exception):
    """A file that cannot be read at all (as opposed to one bad record in it)."""


class Record(NamedTuple):
    number: int
    raw: Any


@dataclass(frozen=True)
class TensorChoice:
    """The input tensor CSV and .npy rows become (JSON lines name their own)."""

    name: str
    datatype: str | None   # None: the .npy file's own dtype


class RecordReader(Protocol):
    position: int   # bytes of the file consumed so far

    def read(self, count: int) -> list[Record]: ...
    def skip(self, count: int) -> int: ...
    def decode(self, record: Record) -> RecordInputs | str: ...
    def decode_uniform(self, records: list[Record]) -> Uniform | None: ...
    def close(self) -> None: ...


def open_reader(source: InputFile, choice: TensorChoice | None) -> RecordReader:
    try:
        if "file" in _protocols(source.fs):   # Python's own reader: lines at C speed
            handle: Any = open(source.path, "rb", buffering=1 << 20)   # noqa: SIM115
        else:
            handle = source.fs.open(source.path, "rb")
    except OSError as exc:
        raise InputFileError(f"{source.display}: cannot open: {exc.strerror or exc}") from None
    try:
        if source.format == "jsonl":
            return JsonLinesReader(source, handle)
        if choice is None:
            raise InputFileError(f"{source.display}: {source.format} rows need an input name")
        if source.format == "csv":
            return CsvReader(source, handle, choice)
        return NpyReader(source, handle, choice)
    except BaseException:
        handle.close()
        raise


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


class _LineReader:
    """Non-blank lines with their line numbers."""

    def __init__(self, source: InputFile, handle: Any) -> None:
        self.source = source
        self.handle = handle
        self.line = 0
        self.position = 0
        self._held: Record | None = None   # read ahead (a CSV's first line) and not yet given

    def _lines(self, count: int) -> list[bytes]:
        try:
            return list(islice(self.handle, count))
        except OSError as exc:
            raise InputFileError(f"{self.source.display}: read failed after line "
                                 f"{self.line}: {exc.strerror or exc}") from None

    def read(self, count: int) -> list[Record]:
        records: list[Record] = []
        if self._held is not None and count > 0:
            records.append(self._held)
            self._held = None
        while len(records) < count:
            chunk = self._lines(count - len(records))
            if not chunk:
                break
            for raw in chunk:
                self.line += 1
                self.position += len(raw)
                if raw.strip():
                    records.append(Record(self.line, raw))
        return records

    def skip(self, count: int) -> int:
        return len(self.read(count))

    def close(self) -> None:
        self.handle.close()


class JsonLinesReader(_LineReader):
    """One V2 inference request per line (what `mlserver infer` reads, too)."""

    def decode(self, record: Record) -> RecordInputs | str:
        try:
            body = json.loads(record.raw)
        except json.JSONDecodeError as exc:
            return f"not JSON: {exc.msg} (column {exc.colno})"
        except UnicodeDecodeError:
            return "not UTF-8 text"
        fast = _plain_request(body)
        if fast is not None:
            return fast
        try:
            return from_request(wire.check_sendable(wire.parse_request(body, "record")))
        except wire.WireError as exc:
            return f"not a V2 inference request: {exc}"

    def decode_uniform(self, records: list[Record]) -> Uniform | None:
        """The batch stacked in one go when every line is the same plain request of one row
        per input (parsed as one JSON array); None when any line differs or is not plain."""
        try:
            bodies = json.loads(b"[" + b",".join(r.raw for r in records) + b"]")
        except (ValueError, UnicodeDecodeError):
            return None
        first = _plain_request(bodies[0]) if len(bodies) == len(records) else None
        if first is None or first.rows != 1:
            return None
        template = [(t.name, t.datatype, list(t.shape)) for t in first.tensors]
        if any(datatype == "BYTES" for _, datatype, _ in template):
            return None
        expected = [(name, datatype, shape) for name, datatype, shape in template]
        width = len(template)
        for body in bodies:
            inputs = body.get("inputs") if type(body) is dict and len(body) == 1 else None
            if type(inputs) is not list or len(inputs) != width:
                return None
            for tensor, header in zip(inputs, expected, strict=True):
                if (type(tensor) is not dict or len(tensor) != 4 or "data" not in tensor
                        or (tensor.get("name"), tensor.get("datatype"),
                            tensor.get("shape")) != header):
                    return None
        stacked = []
        for position, (name, datatype, shape) in enumerate(template):
            data = [body["inputs"][position]["data"] for body in bodies]
            if not set(map(type, chain.from_iterable(data))) <= _VALUE_TYPES[datatype]:
                return None   # nested lists, wrong value types: record by record
            try:
                array = np.asarray(data, dtype=wire.NUMPY_TYPES[datatype])
            except (ValueError, TypeError):
                return None   # unequal lengths
            if array.shape != (len(bodies), math.prod(shape)):
                return None
            stacked.append((name, datatype, array.reshape((len(bodies), *shape[1:]))))
        return Uniform(stacked)


_VALUE_TYPES = {name: frozenset({float, int}) if name in wire.FLOAT_TYPES else
                frozenset({int}) if name in NUMERIC_TYPES else
                frozenset({bool}) if name == "BOOL" else frozenset({str})
                for name in wire.NUMPY_TYPES}


def _plain_request(body: Any) -> RecordInputs | None:
    """The common record (`inputs` only, flat data of the right types and length) decoded
    without the strict parser's per-value calls; None sends anything else to that parser,
    which accepts it the same way or says what is wrong."""
    if type(body) is not dict or body.keys() != {"inputs"}:
        return None
    inputs = body["inputs"]
    if type(inputs) is not list or not inputs:
        return None
    tensors = []
    for tensor in inputs:
        if type(tensor) is not dict or tensor.keys() != {"name", "datatype", "shape", "data"}:
            return None
        name, datatype, shape, data = (tensor["name"], tensor["datatype"], tensor["shape"],
                                       tensor["data"])
        allowed = _VALUE_TYPES.get(datatype) if type(datatype) is str else None
        if (allowed is None or type(name) is not str or not name or type(shape) is not list
                or type(data) is not list or not all(type(d) is int and d >= 0 for d in shape)
                or len(data) != math.prod(shape) or not set(map(type, data)) <= allowed):
            return None
        tensors.append(Tensor(name, datatype, tuple(shape), data))
    if len({t.name for t in tensors}) != len(tensors):
        return None
    return RecordInputs(tuple(tensors))


class CsvReader(_LineReader):
    """Numbers, one record per line, all of one input tensor of shape [1, columns]. A first
    line that is not all numbers is a header, not a record."""

    def __init__(self, source: InputFile, handle: Any, choice: TensorChoice) -> None:
        super().__init__(source, handle)
        if choice.datatype not in NUMERIC_TYPES:
            raise InputFileError(f"{source.display}: CSV cells are numbers; --datatype "
                               f"{choice.datatype} cannot hold them (use one of "
                               f"{', '.join(sorted(NUMERIC_TYPES))})")
        self.name = choice.name
        self.datatype = choice.datatype
        self.integer = not choice.datatype.startswith("FP")
        self.width: int | None = None
        (first,) = self.read(1) or (None,)
        cells = self._cells(first.raw) if first is not None else None
        if first is not None and not (isinstance(cells, list) and self._numbers(cells) is None):
            self._held = first   # a record, not a header

    @staticmethod
    def _cells(raw: bytes) -> list[str] | str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return "not UTF-8 text"
        return [cell.strip().strip('"') for cell in text.rstrip("\r\n").split(",")]

    def _numbers(self, cells: list[str]) -> list[float | int] | None:
        values: list[float | int] = []
        for cell in cells:
            try:
                number = float(cell)
            except ValueError:
                return None
            if self.integer:
                if not number.is_integer():
                    return None
                values.append(int(number))
            else:
                values.append(number)
        return values

    def decode_uniform(self, records: list[Record]) -> Uniform | None:
        return None   # each line is checked on its own (width, numbers)

    def decode(self, record: Record) -> RecordInputs | str:
        cells = self._cells(record.raw)
        if isinstance(cells, str):
            return cells
        if self.width is None:
            self.width = len(cells)
        if len(cells) != self.width:
            return f"{len(cells)} column(s); the first record has {self.width}"
        values = self._numbers(cells)
        if values is None:
            bad = next(c for c in cells if self._numbers([c]) is None)
            return f"{bad!r} is not a {self.datatype} value"
        return RecordInputs((Tensor(self.name, self.datatype, (1, len(values)), values),))


class NpyReader:
    """Rows of a C-ordered numeric .npy array; row i of shape S is a record of shape [1, *S]."""

    def __init__(self, source: InputFile, handle: Any, choice: TensorChoice) -> None:
        self.source = source
        self.handle = handle
        self.name = choice.name
        fmt: Any = np.lib.format
        try:
            version = fmt.read_magic(handle)
            header = (fmt.read_array_header_1_0 if version == (1, 0)
                      else fmt.read_array_header_2_0)(handle)
        except (ValueError, OSError, EOFError) as exc:
            raise InputFileError(f"{source.display}: not a .npy array: {exc}") from None
        shape, fortran, dtype = header
        if fortran and len(shape) > 1:
            raise InputFileError(f"{source.display}: a Fortran-ordered array cannot be read row "
                               "by row; save it with np.ascontiguousarray")
        own = DTYPE_TO_V2.get(dtype.str)
        if own is None or dtype.hasobject:
            raise InputFileError(f"{source.display}: dtype {dtype} has no V2 datatype")
        if not shape:
            raise InputFileError(f"{source.display}: a 0-d array has no rows")
        self.dtype = dtype
        self.datatype = choice.datatype or own
        self.target = np.dtype(wire.NUMPY_TYPES[self.datatype])
        self.row_shape = tuple(int(d) for d in shape[1:])
        self.rows = int(shape[0])
        self.row_bytes = dtype.itemsize * math.prod(self.row_shape)
        self.offset = handle.tell()
        self.next_row = 0
        self.position = self.offset

    def read(self, count: int) -> list[Record]:
        count = min(count, self.rows - self.next_row)
        if count <= 0:
            return []
        try:
            self.handle.seek(self.offset + self.next_row * self.row_bytes)
            data = self.handle.read(count * self.row_bytes)
        except OSError as exc:
            raise InputFileError(f"{self.source.display}: read failed at row "
                               f"{self.next_row + 1}: {exc.strerror or exc}") from None
        if len(data) != count * self.row_bytes:
            raise InputFileError(f"{self.source.display}: the file ends before row "
                               f"{self.next_row + count} of {self.rows} its header declares")
        records = [Record(self.next_row + i + 1,
                          data[i * self.row_bytes:(i + 1) * self.row_bytes])
                   for i in range(count)]
        self.next_row += count
        self.position = self.offset + self.next_row * self.row_bytes
        return records

    def skip(self, count: int) -> int:
        count = max(0, min(count, self.rows - self.next_row))
        self.next_row += count
        self.position = self.offset + self.next_row * self.row_bytes
        return count

    def decode_uniform(self, records: list[Record]) -> Uniform | None:
        rows = np.frombuffer(b"".join(r.raw for r in records), dtype=self.dtype)
        rows = rows.reshape((len(records), *self.row_shape))
        if self.target != self.dtype:
            converted = rows.astype(self.target)
            if self.target.kind != "f" and not np.array_equal(converted, rows):
                return None   # some rows do not fit: found and reported row by row
            rows = converted
        return Uniform([(self.name, self.datatype, rows)])

    def decode(self, record: Record) -> RecordInputs | str:
        row = np.frombuffer(record.raw, dtype=self.dtype).reshape((1, *self.row_shape))
        if self.target != self.dtype:
            converted = row.astype(self.target)
            if not np.array_equal(converted, row) and self.target.kind != "f":
                return f"values do not fit {self.datatype}"
            row = converted
        return RecordInputs((Tensor(self.name, self.datatype, row.shape, row),))

    def close(self) -> None:
        self.handle.close()
