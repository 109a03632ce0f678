"""Read pen-drawn digits in the UNIPEN text format of the UCI "pendigits" data set, with full validation.

The dialect (``pendigits-orig.tra``): header directives, then for each digit

    .SEGMENT DIGIT <strokes> ? "<label>"     <strokes>: the file-wide number of its stroke, or a range "6-7"
    .COMMENT <label> <writer> <index>
    .PEN_DOWN, one "x y" integer pair a line (0..500 tablet units, y up), .PEN_UP, .DT <ms>   (once per stroke)

Decisions: unknown directives are refused (in UNIPEN some, such as .COORD, change what the numbers mean; a file
misread in silence is worse than one refused); a digit without strokes, without its .COMMENT, or with a stroke
count other than its .SEGMENT names, and a stroke without points, are refused, not skipped; header directives
(.INCLUDE, .LEXICON, .HIERARCHY) belong before the first .SEGMENT; blank lines go anywhere. The absolute stroke
numbers in .SEGMENT are not checked (a file cut from a larger one still reads), only how many there are.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import operator
import os
import re
import time
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PENDIGITS_MD5 = "99ff2f0a535e655f6377386a58ae0689"  # pendigits-orig.tra.gz (UCI id 81, CC BY 4.0)
TABLET_SIZE = 500  # the box the digits were written in, in tablet units; points outside it are refused

# Bounds that make a lying or huge file fail fast, each several times what the data set needs (its 7,494 digits
# have at most 3 strokes of at most 185 points; the decompressed file is 3.6 MB in 355,001 lines).
MAX_LINE_BYTES = 1024
MAX_TEXT_BYTES = 16 * 2**20
MAX_LINES = 2_000_000
MAX_DIGITS = 50_000
MAX_STROKES = 100_000
MAX_STROKES_PER_DIGIT = 16
MAX_POINTS = 2_000_000
MAX_POINTS_PER_STROKE = 4096

_CHUNK = 1 << 18
_COORD = rb"(?:500|[1-4][0-9][0-9]|[1-9]?[0-9])"  # 0..500 without leading zeros; others take the slow path
# Every line of the text is one of: part of a run of point lines, part of a run of blank lines, or another line.
# Matching whole runs of points in C is what makes the reader fast (a Python loop over the lines takes seconds);
# the runs are possessive (++): a greedy + keeps backtracking state for every line, 12 MB for 29,000 points.
_TOKENS = re.compile(
    rb"(?P<points>(?:[ \t]*" + _COORD + rb"[ \t]+" + _COORD + rb"[ \t]*\r?\n)++)"
    rb"|(?P<blank>(?:[ \t\r]*\n)++)"
    rb"|(?P<line>[^\n]*\n)"
)
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_STROKE_RANGE = re.compile(rb"([0-9]{1,9})(?:-([0-9]{1,9}))?")
_DIGITS = {str(d).encode(): d for d in range(10)}
_HEADER = (b".INCLUDE", b".LEXICON", b".HIERARCHY")
_KNOWN = (b".SEGMENT", b".COMMENT", b".PEN_DOWN", b".PEN_UP", b".DT", *_HEADER)


class UnipenFormatError(ValueError):
    """A file is not valid UNIPEN of the pendigits kind; the message names the file, the line and the problem."""

    def __init__(self, path: str | os.PathLike, line: int | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = self.path.name if line is None else f"{self.path.name}:{line}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, eq=False)
class PenDigit:
    """One digit as drawn: its label, its writer and its strokes.

    Each stroke is a read-only N x 2 float32 array of (x, y) in tablet units with y growing downward, as on a
    screen: y = TABLET_SIZE - y in the file (which grows upward), so a 7's bar has the smallest y.
    Equality is identity (arrays have no single truth value).
    """

    label: int
    writer: int
    strokes: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        # numpy integers become ints; floats and strings are refused (operator.index raises TypeError)
        object.__setattr__(self, "label", operator.index(self.label))
        object.__setattr__(self, "writer", operator.index(self.writer))
        if not 0 <= self.label <= 9:
            raise ValueError(f"label must be in 0-9, not {self.label}")
        if self.writer < 1:
            raise ValueError(f"writer must be a positive integer, not {self.writer}")
        if not (isinstance(self.strokes, tuple) and self.strokes):
            raise ValueError("strokes must be a non-empty tuple of arrays")
        for stroke in self.strokes:
            if not (
                isinstance(stroke, np.ndarray)
                and stroke.dtype == np.float32
                and stroke.ndim == 2
                and stroke.shape[0] >= 1
                and stroke.shape[1] == 2
            ):
                raise ValueError(f"each stroke must be an N x 2 float32 array with N >= 1, not {stroke!r:.80}")


def read_unipen(path: str | os.PathLike) -> list[PenDigit]:
    """Read every digit of a UNIPEN file (plain or .gz), in file order."""
    path = Path(path)
    started = time.perf_counter()
    with contextlib.closing(_read_pieces(path)) as pieces:
        digits = _Parser(path).parse(pieces)
    log.debug("read %d digits from %s in %.2f s", len(digits), path.name, time.perf_counter() - started)
    return digits


def writers(digits: Iterable[PenDigit]) -> list[int]:
    """The writers of these digits, sorted."""
    return sorted({digit.writer for digit in digits})


def split_by_writer(digits: Sequence[PenDigit], held_out: Collection[int]) -> tuple[list[PenDigit], list[PenDigit]]:
    """(digits by the other writers, digits by the held-out writers), each in the given order.

    Raises ValueError for a held-out writer with no digits here: a typo would otherwise hold out nothing.
    """
    held = set(held_out)
    missing = held - set(writers(digits))
    if missing:
        raise ValueError(f"held-out writers with no digits: {sorted(missing)}")
    kept = [digit for digit in digits if digit.writer not in held]
    return kept, [digit for digit in digits if digit.writer in held]


def _open(path: Path):
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _read_pieces(path: Path) -> Iterator[bytes]:
    """The (decompressed) text in pieces of whole lines, each ending in a newline, read a chunk at a time.

    Refused as it arrives: more than MAX_TEXT_BYTES or MAX_LINES, or a line longer than MAX_LINE_BYTES (so one
    gigantic line fails after one chunk, and no more than a chunk and a line is ever held here).
    """
    lines_done = 0  # complete lines before the current chunk
    size = 0
    tail = b""  # the unfinished line at the end of the last chunk: at most MAX_LINE_BYTES
    try:
        with _open(path) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > MAX_TEXT_BYTES:
                    raise UnipenFormatError(
                        path, None, f"more than {MAX_TEXT_BYTES // 2**20} MiB of text: too large for a digit file"
                    )
                newlines = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10)
                lengths = np.diff(newlines, prepend=-1 - len(tail)) - 1
                too_long = np.flatnonzero(lengths > MAX_LINE_BYTES)
                if too_long.size:
                    raise _long_line(path, lines_done + int(too_long[0]) + 1)
                lines_done += len(newlines)
                if lines_done > MAX_LINES:
                    raise UnipenFormatError(path, MAX_LINES + 1, f"more than {MAX_LINES:,} lines")
                if not newlines.size:
                    if len(tail) + len(chunk) > MAX_LINE_BYTES:
                        raise _long_line(path, lines_done + 1)
                    tail += chunk
                    continue
                end = int(newlines[-1]) + 1
                if len(chunk) - end > MAX_LINE_BYTES:
                    raise _long_line(path, lines_done + 1)
                yield tail + chunk[:end]
                tail = chunk[end:]
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise
        raise UnipenFormatError(path, None, f"corrupt or unreadable compressed data ({exc})") from exc
    if tail:
        yield tail + b"\n"  # every token the parser matches ends with a newline


def _long_line(path: Path, line: int) -> UnipenFormatError:
    return UnipenFormatError(path, line, f"line longer than {MAX_LINE_BYTES} bytes")


def _show(text: bytes) -> str:
    """A line or token for a message: stripped, shortened, non-ASCII escaped."""
    text = text.strip()
    shown = text[:60].decode("ascii", "backslashreplace")
    return f"'{shown}...'" if len(text) > 60 else f"'{shown}'"


class _Parser:
    """The state machine over one file's lines; point text is gathered and converted to numbers in batches."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.labels: list[int] = []  # per digit
        self.writers: list[int] = []
        self.stroke_counts: list[int] = []
        self.point_counts: list[int] = []  # per stroke
        self.points = bytearray()  # point lines not yet converted, validated: numbers 0-500 and blanks only
        self.numbers: list[np.ndarray] = []  # the converted ones, in order
        self.total_points = 0
        self.segment_line = 0  # the current digit's .SEGMENT line; 0 before the first
        self.segment_label = 0
        self.segment_strokes = b""  # as written, e.g. b"6-7"
        self.claimed_strokes = 0
        self.comment_line = 0
        self.writer = 0
        self.digit_strokes = 0
        self.down_line = 0  # the open stroke's .PEN_DOWN line; 0 outside a stroke
        self.stroke_points = 0

    def error(self, line: int | None, problem: str) -> UnipenFormatError:
        return UnipenFormatError(self.path, line, problem)

    def parse(self, pieces: Iterable[bytes]) -> list[PenDigit]:
        line = 1
        for piece in pieces:
            for match in _TOKENS.finditer(piece):
                token = match.group()
                kind = match.lastgroup
                if kind == "points":
                    count = token.count(b"\n")
                    if not self.down_line:
                        raise self.error(line, "a point outside a stroke (no .PEN_DOWN before it)")
                    self.add_points(line, token, count)
                    line += count
                elif kind == "blank":
                    line += token.count(b"\n")
                else:
                    self.handle_line(line, token)
                    line += 1
        last = line - 1
        if self.down_line:
            raise self.error(last, f"end of file inside the stroke of the .PEN_DOWN at line {self.down_line}")
        self.close_digit()
        if not self.labels:
            raise self.error(None, "no digits: not a pendigits UNIPEN file")
        return self.digits()

    def add_points(self, line: int, token: bytes, count: int) -> None:
        if self.stroke_points + count > MAX_POINTS_PER_STROKE:
            raise self.error(
                line + MAX_POINTS_PER_STROKE - self.stroke_points,
                f"more than {MAX_POINTS_PER_STROKE:,} points in the stroke of the .PEN_DOWN at line {self.down_line}",
            )
        if self.total_points + count > MAX_POINTS:
            raise self.error(line + MAX_POINTS - self.total_points, f"more than {MAX_POINTS:,} points in the file")
        self.points += token
        self.stroke_points += count
        self.total_points += count
        if len(self.points) >= _CHUNK:  # numbers take less room than their text
            self.numbers.append(_parse_numbers(self.points))
            self.points = bytearray()

    def handle_line(self, line: int, text: bytes) -> None:
        """Any line that is not a point in the fast form (a directive, a point in another form, or an error)."""
        parts = text.split()
        if not parts:  # whitespace other than blanks and tabs
            return
        head = parts[0]
        if self.down_line:
            if head == b".PEN_UP":
                self.no_arguments(line, parts)
                if not self.stroke_points:
                    raise self.error(line, f"an empty stroke: no points since the .PEN_DOWN at line {self.down_line}")
                self.point_counts.append(self.stroke_points)
                self.down_line = 0
            elif head.startswith(b"."):
                raise self.error(
                    line, f"{_show(head)} inside the stroke of the .PEN_DOWN at line {self.down_line} (no .PEN_UP)"
                )
            else:
                x, y = self.point(line, parts, text)
                self.add_points(line, b"%d %d\n" % (x, y), 1)
        elif head == b".PEN_DOWN":
            self.pen_down(line, parts)
        elif head == b".DT":
            if len(parts) != 2 or not (parts[1].isdigit() and len(parts[1]) <= 9):
                raise self.error(line, f".DT needs one non-negative integer (milliseconds), found {_show(text)}")
        elif head == b".SEGMENT":
            self.close_digit()
            self.segment(line, parts, text)
        elif head == b".COMMENT":
            self.comment(line, parts, text)
        elif head in _HEADER:
            if self.segment_line:
                raise self.error(line, f"{head.decode()} after the first .SEGMENT (header lines come first)")
        elif head == b".PEN_UP":
            raise self.error(line, "a .PEN_UP without a .PEN_DOWN")
        elif head.startswith(b"."):
            known = ", ".join(name.decode() for name in _KNOWN)
            raise self.error(line, f"unknown directive {_show(head)} (this reader knows {known})")
        elif len(parts) == 2 and all(_INTEGER.fullmatch(part) for part in parts):
            raise self.error(line, "a point outside a stroke (no .PEN_DOWN before it)")
        else:
            raise self.error(line, f"unexpected line {_show(text)}: neither a directive nor a point in a stroke")

    def point(self, line: int, parts: list[bytes], text: bytes) -> tuple[int, int]:
        if len(parts) != 2:
            raise self.error(line, f"a point needs 2 numbers 'x y', found {len(parts)}: {_show(text)}")
        if not all(_INTEGER.fullmatch(part) for part in parts):
            raise self.error(line, f"a point needs 2 integers 'x y', found {_show(text)}")
        x, y = int(parts[0]), int(parts[1])  # at most 1024 characters: int() accepts them
        if not (0 <= x <= TABLET_SIZE and 0 <= y <= TABLET_SIZE):
            raise self.error(line, f"point {_show(text)} is outside the 0-{TABLET_SIZE} tablet box")
        return x, y

    def no_arguments(self, line: int, parts: list[bytes]) -> None:
        if len(parts) != 1:
            raise self.error(line, f"{parts[0].decode()} takes no arguments, found {_show(b' '.join(parts[1:]))}")

    def pen_down(self, line: int, parts: list[bytes]) -> None:
        self.no_arguments(line, parts)
        if not self.segment_line:
            raise self.error(line, "a .PEN_DOWN before the first .SEGMENT")
        if self.digit_strokes == self.claimed_strokes:
            raise self.error(
                line,
                f"more strokes than the {self.claimed_strokes} ({self.segment_strokes.decode()}) "
                f"that the .SEGMENT at line {self.segment_line} names",
            )
        if len(self.point_counts) >= MAX_STROKES:
            raise self.error(line, f"more than {MAX_STROKES:,} strokes in the file")
        self.down_line = line
        self.stroke_points = 0
        self.digit_strokes += 1

    def label(self, line: int, token: bytes) -> int:
        if token not in _DIGITS:
            raise self.error(line, f"label {_show(token)} is outside 0-9")
        return _DIGITS[token]

    def segment(self, line: int, parts: list[bytes], text: bytes) -> None:
        if len(parts) != 5 or parts[1] != b"DIGIT":
            raise self.error(line, f".SEGMENT needs 'DIGIT <strokes> ? \"<label>\"', found {_show(text)}")
        numbers = _STROKE_RANGE.fullmatch(parts[2])
        if not numbers:
            raise self.error(line, f"stroke numbers {_show(parts[2])} are not 'n' or 'n-m'")
        first, last = int(numbers[1]), int(numbers[2] or numbers[1])
        if last < first:
            raise self.error(line, f"stroke numbers {_show(parts[2])} run backwards")
        if last - first + 1 > MAX_STROKES_PER_DIGIT:
            raise self.error(
                line,
                f".SEGMENT names {last - first + 1:,} strokes ({parts[2].decode()}); "
                f"a digit has at most {MAX_STROKES_PER_DIGIT}",
            )
        quoted = parts[4]
        if len(quoted) < 2 or quoted[:1] != b'"' or quoted[-1:] != b'"':
            raise self.error(line, f'the .SEGMENT label must be quoted, like "7", found {_show(quoted)}')
        if len(self.labels) >= MAX_DIGITS:
            raise self.error(line, f"more than {MAX_DIGITS:,} digits in the file")
        self.segment_label = self.label(line, quoted[1:-1])
        self.segment_line = line
        self.segment_strokes = parts[2]
        self.claimed_strokes = last - first + 1
        self.comment_line = 0
        self.digit_strokes = 0

    def comment(self, line: int, parts: list[bytes], text: bytes) -> None:
        if not self.segment_line:
            raise self.error(line, "a .COMMENT before the first .SEGMENT")
        if self.comment_line:
            raise self.error(
                line,
                f"a second .COMMENT for the digit of line {self.segment_line} (the first is at {self.comment_line})",
            )
        if len(parts) != 4:
            raise self.error(line, f".COMMENT needs '<label> <writer> <index>', found {_show(text)}")
        label = self.label(line, parts[1])
        if label != self.segment_label:
            raise self.error(
                line,
                f"the .COMMENT label {label} disagrees with the label {self.segment_label} "
                f"of the .SEGMENT at line {self.segment_line}",
            )
        writer = parts[2]
        if not (writer.isdigit() and len(writer) <= 6 and int(writer) > 0):
            raise self.error(line, f"writer {_show(writer)} is not a positive integer (1-999999)")
        if not (parts[3].isdigit() and len(parts[3]) <= 9):
            raise self.error(line, f"index {_show(parts[3])} is not a non-negative integer")
        self.writer = int(writer)
        self.comment_line = line

    def close_digit(self) -> None:
        """Check the digit that just ended (at a .SEGMENT or the end of the file) and record it."""
        if not self.segment_line:
            return
        line = self.segment_line
        if not self.comment_line:
            raise self.error(line, "the digit has no .COMMENT with its label and writer")
        if not self.digit_strokes:
            raise self.error(line, "the digit has no strokes")
        if self.digit_strokes != self.claimed_strokes:
            raise self.error(
                line,
                f".SEGMENT names {self.claimed_strokes} strokes ({self.segment_strokes.decode()}) "
                f"but {self.digit_strokes} follow",
            )
        self.labels.append(self.segment_label)
        self.writers.append(self.writer)
        self.stroke_counts.append(self.digit_strokes)

    def digits(self) -> list[PenDigit]:
        values = np.concatenate([*self.numbers, _parse_numbers(self.points)]).reshape(-1, 2)
        xy = np.empty(values.shape, np.float32)
        xy[:, 0] = values[:, 0]
        xy[:, 1] = TABLET_SIZE - values[:, 1]
        xy.flags.writeable = False
        ends = np.cumsum(self.point_counts).tolist()
        strokes = [xy[end - count : end] for end, count in zip(ends, self.point_counts, strict=True)]
        digits = []
        first = 0
        for label, writer, count in zip(self.labels, self.writers, self.stroke_counts, strict=True):
            digits.append(PenDigit(label, writer, tuple(strokes[first : first + count])))
            first += count
        return digits


def _parse_numbers(text: bytearray) -> np.ndarray:
    """The numbers in validated point text (numbers of 1-3 ASCII digits between blanks and newlines), vectorised."""
    chars = np.frombuffer(text, np.uint8)
    is_digit = (chars >= ord("0")) & (chars <= ord("9"))
    edges = np.flatnonzero(np.diff(is_digit, prepend=False, append=False))
    firsts, ends = edges[0::2], edges[1::2]  # each number is chars[first:end]
    values = chars[ends - 1].astype(np.int16) - ord("0")
    for place in (2, 3):
        longer = ends - firsts >= place
        values[longer] += (chars[ends[longer] - place].astype(np.int16) - ord("0")) * 10 ** (place - 1)
    return values
