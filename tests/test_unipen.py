import contextlib
import gzip
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lenet_core import unipen
from lenet_core.unipen import PenDigit, UnipenFormatError, read_unipen, split_by_writer, writers

HEADER = [
    ".INCLUDE        dene.doc",
    "",
    '.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"',
    ".HIERARCHY      DIGIT",
    "",
]

# (label, writer, strokes): points in file units, y up, as the tablet wrote them
SEVEN = (7, 12, [[(100, 400), (300, 400), (200, 100)]])  # the bar at the top: high y in the file
FOUR = (4, 3, [[(100, 400), (90, 200), (300, 210)], [(250, 450), (260, 20)]])
FIVE = (5, 30, [[(300, 450), (120, 440)], [(110, 430), (100, 300), (250, 250), (260, 50), (90, 40)], [(0, 500)]])


def unipen_text(digits, newline="\n", indent=" ", header=HEADER) -> str:
    """A pendigits-style UNIPEN file for these digits, laid out as the real one."""
    lines = list(header)
    stroke = 0
    for index, (label, writer, strokes) in enumerate(digits):
        numbers = f"{stroke}" if len(strokes) == 1 else f"{stroke}-{stroke + len(strokes) - 1}"
        stroke += len(strokes)
        lines += [f'.SEGMENT DIGIT    {numbers} ? "{label}"', f".COMMENT {label} {writer}  {index}"]
        for points in strokes:
            lines += [".PEN_DOWN", *(f"{indent}{x}{indent}{y}" for x, y in points), ".PEN_UP", ".DT 100"]
        lines.append("")
    return newline.join(lines) + newline


def write(path, text, gz=False):
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def expected_strokes(strokes):
    return [np.array([(x, unipen.TABLET_SIZE - y) for x, y in points], np.float32) for points in strokes]


def assert_digits_equal(digits, specs):
    assert [(d.label, d.writer, len(d.strokes)) for d in digits] == [(s[0], s[1], len(s[2])) for s in specs]
    for digit, (_, _, strokes) in zip(digits, specs, strict=True):
        for got, want in zip(digit.strokes, expected_strokes(strokes), strict=True):
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["digits.txt", "digits.tra.gz"])
def test_reads_labels_writers_points_with_y_flipped(tmp_path, name):
    path = write(tmp_path / name, unipen_text([SEVEN, FOUR, FIVE]), gz=name.endswith(".gz"))
    digits = read_unipen(path)
    assert_digits_equal(digits, [SEVEN, FOUR, FIVE])
    first = digits[0].strokes[0]
    assert first.shape == (3, 2)
    np.testing.assert_array_equal(first[0], [100, 100])  # file y 400 (up) -> screen y 100 (down)
    assert not first.flags.writeable


def test_a_seven_has_its_bar_at_the_top(tmp_path):
    (seven,) = read_unipen(write(tmp_path / "seven", unipen_text([SEVEN])))
    bar, tail = seven.strokes[0][:2], seven.strokes[0][2]
    assert (bar[:, 1] < tail[1]).all()  # screen y grows downward: the bar is above the foot


def test_layout_variants_read_the_same(tmp_path):
    variants = [
        unipen_text([SEVEN, FOUR, FIVE], newline="\r\n"),
        unipen_text([SEVEN, FOUR, FIVE], indent="\t"),
        unipen_text([SEVEN, FOUR, FIVE], indent="  ").rstrip("\n"),  # no newline at the end
        unipen_text([SEVEN, FOUR, FIVE], header=[]),
        unipen_text([SEVEN, FOUR, FIVE]).replace(" 300 ", "0300 ").replace(" 250 ", "+250 "),  # slow path
        unipen_text([SEVEN, FOUR, FIVE]).replace(".PEN_DOWN\n", ".PEN_DOWN\n\n   \n"),  # blank lines in a stroke
    ]
    for index, text in enumerate(variants):
        assert_digits_equal(read_unipen(write(tmp_path / f"v{index}", text)), [SEVEN, FOUR, FIVE])


def test_writers_and_split_by_writer(tmp_path):
    digits = read_unipen(write(tmp_path / "d", unipen_text([SEVEN, FOUR, FIVE, FOUR])))
    assert writers(digits) == [3, 12, 30]
    train, held = split_by_writer(digits, {3, 30})
    assert [d.writer for d in train] == [12]
    assert [d.writer for d in held] == [3, 30, 3]
    assert split_by_writer(digits, set()) == (digits, [])
    with pytest.raises(ValueError, match=r"held-out writers with no digits: \[4, 31\]"):
        split_by_writer(digits, {4, 31, 3})


def test_pen_digit_checks_what_it_holds():
    stroke = np.zeros((2, 2), np.float32)
    digit = PenDigit(np.int64(9), np.uint8(1), (stroke,))
    assert (type(digit.label), type(digit.writer)) == (int, int)
    with pytest.raises(TypeError):
        PenDigit(3.0, 1, (stroke,))
    for label, writer, strokes in [
        (10, 1, (stroke,)),
        (3, 0, (stroke,)),
        (3, 1, ()),
        (3, 1, [stroke]),
        (3, 1, (stroke.astype(np.float64),)),
        (3, 1, (np.zeros((0, 2), np.float32),)),
        (3, 1, (np.zeros((2, 3), np.float32),)),
    ]:
        with pytest.raises(ValueError):
            PenDigit(label, writer, strokes)


# The valid file the malformed cases edit. Its lines, numbered as in an error message:
#  1-5 header, 6 .SEGMENT "7", 7 .COMMENT, 8 .PEN_DOWN, 9-11 points, 12 .PEN_UP, 13 .DT, 14 blank,
#  15 .SEGMENT 1-2 "4", 16 .COMMENT, 17 .PEN_DOWN, 18-20 points, 21 .PEN_UP, 22 .DT,
#  23 .PEN_DOWN, 24-25 points, 26 .PEN_UP, 27 .DT, 28 blank
BASE = unipen_text([SEVEN, FOUR]).split("\n")[:-1]


def edit(changes: dict[int, str | list[str] | None]) -> str:
    """BASE with line n (1-based) replaced by a line, by several lines, or removed (None)."""
    lines = []
    for number, line in enumerate(BASE, start=1):
        change = changes.get(number, line)
        lines += [] if change is None else [change] if isinstance(change, str) else change
    return "\n".join(lines) + "\n"


def test_base_file_is_valid_and_numbered_as_the_cases_assume(tmp_path):
    assert BASE[5].startswith(".SEGMENT") and BASE[14].startswith(".SEGMENT") and BASE[22] == ".PEN_DOWN"
    assert_digits_equal(read_unipen(write(tmp_path / "base", edit({}))), [SEVEN, FOUR])


MALFORMED = [
    # points outside a stroke
    ({13: [".DT 100", " 5 5"]}, 14, "a point outside a stroke"),
    ({14: "007 5"}, 14, "a point outside a stroke"),
    ({5: " 5 5"}, 5, "a point outside a stroke"),
    # a stroke that never ends
    ({12: None, 13: None}, 13, r"'\.SEGMENT' inside the stroke of the \.PEN_DOWN at line 8 \(no \.PEN_UP\)"),
    ({12: None}, 12, r"'\.DT' inside the stroke of the \.PEN_DOWN at line 8"),
    ({26: None, 27: None, 28: None}, 25, r"end of file inside the stroke of the \.PEN_DOWN at line 23"),
    ({10: ".PEN_DOWN"}, 10, r"'\.PEN_DOWN' inside the stroke of the \.PEN_DOWN at line 8"),
    # points that are not points
    ({10: " 1x 5"}, 10, "a point needs 2 integers"),
    ({10: " 1.5 5"}, 10, "a point needs 2 integers"),
    ({10: " 1 2 3"}, 10, r"a point needs 2 numbers 'x y', found 3"),
    ({19: " 12"}, 19, r"a point needs 2 numbers 'x y', found 1"),
    ({10: " 501 20"}, 10, "point '501 20' is outside the 0-500 tablet box"),
    ({10: " 20 -1"}, 10, "point '20 -1' is outside"),
    ({10: " 20 99999999999999999999"}, 10, r"point '20 9{20}' is outside the 0-500 tablet box"),
    ({10: " 20\xe9 5"}, 10, r"a point needs 2 integers 'x y', found '20\\xc3\\xa9 5'"),
    # labels
    ({6: '.SEGMENT DIGIT    0 ? "10"'}, 6, "label '10' is outside 0-9"),
    ({6: '.SEGMENT DIGIT    0 ? "a"'}, 6, "label 'a' is outside 0-9"),
    ({6: '.SEGMENT DIGIT    0 ? ""'}, 6, "label '' is outside 0-9"),
    ({6: ".SEGMENT DIGIT    0 ? 7"}, 6, r"the \.SEGMENT label must be quoted"),
    ({7: ".COMMENT 11 12  0"}, 7, "label '11' is outside 0-9"),
    ({16: ".COMMENT 9 3  1"}, 16, r"the \.COMMENT label 9 disagrees with the label 4 of the \.SEGMENT at line 15"),
    # writers
    ({7: ".COMMENT 7 0  0"}, 7, "writer '0' is not a positive integer"),
    ({7: ".COMMENT 7 -3  0"}, 7, "writer '-3' is not a positive integer"),
    ({7: ".COMMENT 7 x  0"}, 7, "writer 'x' is not a positive integer"),
    ({7: ".COMMENT 7 1234567  0"}, 7, "writer '1234567' is not a positive integer"),
    ({7: ".COMMENT 7 12  -1"}, 7, "index '-1' is not a non-negative integer"),
    ({7: ".COMMENT 7 12"}, 7, r"\.COMMENT needs '<label> <writer> <index>'"),
    ({7: None}, 6, r"the digit has no \.COMMENT"),
    ({13: [".DT 100", ".COMMENT 7 12  0"]}, 14, r"a second \.COMMENT for the digit of line 6 \(the first is at 7\)"),
    ({4: ".COMMENT 7 12  0"}, 4, r"a \.COMMENT before the first \.SEGMENT"),
    # digits and strokes that are empty or miscounted
    ({8: None, 9: None, 10: None, 11: None, 12: None, 13: None}, 6, "the digit has no strokes"),
    ({9: None, 10: None, 11: None}, 9, r"an empty stroke: no points since the \.PEN_DOWN at line 8"),
    ({15: '.SEGMENT DIGIT    1-3 ? "4"'}, 15, r"\.SEGMENT names 3 strokes \(1-3\) but 2 follow"),
    ({15: '.SEGMENT DIGIT    1 ? "4"'}, 23, r"more strokes than the 1 \(1\) that the \.SEGMENT at line 15 names"),
    ({15: '.SEGMENT DIGIT    0-999999 ? "4"'}, 15, r"\.SEGMENT names 1,000,000 strokes \(0-999999\); a digit"),
    ({15: '.SEGMENT DIGIT    2-1 ? "4"'}, 15, "stroke numbers '2-1' run backwards"),
    ({15: '.SEGMENT DIGIT    x ? "4"'}, 15, "stroke numbers 'x' are not 'n' or 'n-m'"),
    ({15: '.SEGMENT WORD    1-2 ? "4"'}, 15, r"\.SEGMENT needs 'DIGIT <strokes> \? \"<label>\"'"),
    ({15: '.SEGMENT DIGIT 1-2 "4"'}, 15, r"\.SEGMENT needs 'DIGIT"),
    # directives in the wrong place, malformed or unknown
    ({12: ".PEN_UP now"}, 12, r"\.PEN_UP takes no arguments, found 'now'"),
    ({8: ".PEN_DOWN 1"}, 8, r"\.PEN_DOWN takes no arguments"),
    ({14: ".PEN_UP"}, 14, r"a \.PEN_UP without a \.PEN_DOWN"),
    ({5: ".PEN_DOWN"}, 5, r"a \.PEN_DOWN before the first \.SEGMENT"),
    ({13: ".DT fast"}, 13, r"\.DT needs one non-negative integer"),
    ({13: ".DT"}, 13, r"\.DT needs one non-negative integer"),
    ({14: ".LEXICON DIGITS"}, 14, r"\.LEXICON after the first \.SEGMENT"),
    ({2: ".X_DIM 500"}, 2, r"unknown directive '\.X_DIM' \(this reader knows \.SEGMENT, "),
    ({10: ".X_DIM 500"}, 10, r"'\.X_DIM' inside the stroke"),
    ({2: "hello world"}, 2, "unexpected line 'hello world': neither a directive nor a point in a stroke"),
    ({2: "x" * 2000}, 2, "line longer than 1024 bytes"),
]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(("changes", "line", "problem"), MALFORMED)
def test_malformed_files_name_file_line_and_problem(tmp_path, gz, changes, line, problem):
    path = write(tmp_path / ("bad-digits.gz" if gz else "bad-digits"), edit(changes), gz)
    with pytest.raises(UnipenFormatError, match=f"^bad-digits(\\.gz)?:{line}: {problem}") as info:
        read_unipen(path)
    assert info.value.line == line


@pytest.mark.parametrize("text", ["", "\n\n  \n", "\n".join(HEADER)])
def test_a_file_without_digits_is_refused(tmp_path, text):
    with pytest.raises(UnipenFormatError, match=r"^empty: no digits") as info:
        read_unipen(write(tmp_path / "empty", text))
    assert info.value.line is None


def test_corrupt_gzip_is_a_format_error(tmp_path):
    good = gzip.compress(unipen_text([SEVEN, FOUR, FIVE] * 20).encode())
    path = write(tmp_path / "broken.gz", good[:40] + b"\xff" * 40 + good[80:])
    with pytest.raises(UnipenFormatError, match="^broken.gz: corrupt or unreadable compressed data"):
        read_unipen(path)
    with pytest.raises(UnipenFormatError, match="^cut.gz: corrupt"):
        read_unipen(write(tmp_path / "cut.gz", good[: len(good) // 2]))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_unipen(tmp_path / "nope")


@pytest.mark.parametrize(
    ("limit", "value", "line", "problem"),
    [
        ("MAX_DIGITS", 2, 19, "more than 2 digits in the file"),  # the third .SEGMENT
        ("MAX_STROKES", 3, 28, "more than 3 strokes in the file"),  # the fourth .PEN_DOWN
        ("MAX_POINTS_PER_STROKE", 2, 6, r"more than 2 points in the stroke of the \.PEN_DOWN at line 3"),
        ("MAX_POINTS", 4, 14, "more than 4 points in the file"),
        ("MAX_LINES", 10, 11, "more than 10 lines"),
    ],
)
def test_each_limit_is_enforced_where_it_is_crossed(tmp_path, monkeypatch, limit, value, line, problem):
    monkeypatch.setattr(unipen, limit, value)
    text = unipen_text([(1, 1, [[(1, 1), (2, 2), (3, 3)]])] * 2 + [(1, 1, [[(1, 1)]])] * 3, header=[])
    with pytest.raises(UnipenFormatError, match=f"^many:{line}: {problem}"):
        read_unipen(write(tmp_path / "many", text))


def test_text_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(unipen, "MAX_TEXT_BYTES", 2**20)
    monkeypatch.setattr(unipen, "_CHUNK", 1000)
    text = unipen_text([SEVEN] * 20_000)
    with pytest.raises(UnipenFormatError, match="^big: more than 1 MiB of text"):
        read_unipen(write(tmp_path / "big", text))


def _peak_while_refusing(path, problem):
    tracemalloc.start()
    try:
        with pytest.raises(UnipenFormatError, match=problem):
            read_unipen(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _gz_stream(path, parts, repeat):
    """Write head + body * repeat + tail as gzip without holding the whole text in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    head, body, tail = parts
    with open(path, "wb") as f:
        f.write(compressor.compress(head))
        for _ in range(repeat):
            f.write(compressor.compress(body))
        f.write(compressor.compress(tail) + compressor.flush())
    return path


def test_one_gigantic_line_fails_at_once_without_memory(tmp_path):
    # 64 MiB on one line after a valid start: refused at the first chunk, never read whole
    path = _gz_stream(tmp_path / "line.gz", (edit({}).encode(), b"7" * 2**20, b"\n"), 64)
    assert _peak_while_refusing(path, r"^line.gz:29: line longer than 1024 bytes") < 4 * 2**20


def test_a_stroke_with_millions_of_points_fails_at_the_limit_without_memory(tmp_path):
    head = b'.SEGMENT DIGIT 0 ? "1"\n.COMMENT 1 1 0\n.PEN_DOWN\n'
    path = _gz_stream(tmp_path / "points.gz", (head, b" 250 250\n" * 2**17, b".PEN_UP\n"), 16)  # 2 M points
    problem = r"^points.gz:4100: more than 4,096 points in the stroke of the \.PEN_DOWN at line 3"
    assert _peak_while_refusing(path, problem) < 4 * 2**20


def test_a_huge_file_fails_at_the_text_limit_without_more_memory(tmp_path):
    # 55 MB of valid digits (27 kB each, so no other limit comes first): what is read is kept as numbers, not text
    digit = unipen_text([(1, 1, [[(250, 250)] * 1000] * 3)], header=[]).encode()
    path = _gz_stream(tmp_path / "huge.gz", (b"", digit, b""), 2**11)
    assert _peak_while_refusing(path, r"^huge.gz: more than 16 MiB of text") < unipen.MAX_TEXT_BYTES


def test_a_segment_claiming_millions_of_strokes_fails_at_its_line(tmp_path):
    text = '.SEGMENT DIGIT 0-4999999 ? "1"\n.COMMENT 1 1 0\n' + ".PEN_DOWN\n 1 1\n.PEN_UP\n" * 10
    with pytest.raises(UnipenFormatError, match="^claims:1: .SEGMENT names 5,000,000 strokes"):
        read_unipen(write(tmp_path / "claims", text))


# Property tests. Each example writes one small file; the seeded profile in conftest keeps the draws fixed.
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
points_st = st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=12)
digits_st = st.lists(
    st.tuples(st.integers(0, 9), st.integers(1, 999_999), st.lists(points_st, min_size=1, max_size=3)),
    min_size=1,
    max_size=6,
)


def check_valid(digits):
    """What any digit the reader returns must satisfy."""
    for digit in digits:
        assert 0 <= digit.label <= 9 and digit.writer >= 1
        for stroke in digit.strokes:
            assert stroke.dtype == np.float32 and stroke.ndim == 2 and stroke.shape[1] == 2 and len(stroke) >= 1
            assert (stroke >= 0).all() and (stroke <= unipen.TABLET_SIZE).all()


@FUZZ
@given(specs=digits_st, newline=st.sampled_from(["\n", "\r\n"]), indent=st.sampled_from([" ", "  ", "\t", " \t"]))
def test_generated_files_read_back_exactly(tmp_path, specs, newline, indent):
    path = write(tmp_path / "gen", unipen_text(specs, newline=newline, indent=indent))
    assert_digits_equal(read_unipen(path), specs)


@FUZZ
@given(data=st.binary(max_size=300), gz=st.booleans())
def test_random_bytes_give_digits_or_format_error(tmp_path, data, gz):
    path = write(tmp_path / "fuzz", data, gz)
    with contextlib.suppress(UnipenFormatError):
        check_valid(read_unipen(path))


TRICKY_LINES = [
    "", ".PEN_DOWN", ".PEN_UP", ".DT 100", '.SEGMENT DIGIT 0 ? "3"', '.SEGMENT DIGIT 0-1 ? "3"', ".COMMENT 3 1 0",
    ".COMMENT 3 0 0", " 1 2", " 500 500", " 501 0", "-1 2", " 1", "1 2 3", ".X_DIM 3", ".LEXICON", "\t", "\x00",
    "\xff 1", ".PEN_DOWN\n.PEN_UP", ".SEGMENT", ".COMMENT",
]  # fmt: skip


@FUZZ
@given(
    specs=digits_st,
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.sampled_from(["delete", "duplicate", "replace", "flip"]), st.integers()),
        min_size=1,
        max_size=4,
    ),
    gz=st.booleans(),
)
def test_mutated_files_give_digits_or_format_error(tmp_path, specs, edits, gz):
    lines = unipen_text(specs).split("\n")
    for where, how, value in edits:
        at = where % len(lines)
        if how == "delete":
            del lines[at]
        elif how == "duplicate":
            lines.insert(at, lines[at])
        elif how == "replace":
            lines[at] = TRICKY_LINES[value % len(TRICKY_LINES)]
        elif lines[at]:
            char = value % len(lines[at])
            lines[at] = lines[at][:char] + chr(value % 128) + lines[at][char + 1 :]
        if not lines:
            lines = [""]
    path = write(tmp_path / "mutant", "\n".join(lines).encode("utf-8", "surrogateescape"), gz)
    with contextlib.suppress(UnipenFormatError):
        check_valid(read_unipen(path))


@pytest.mark.parametrize("chunk", [7, 100, 1000, 1 << 18])
def test_lines_are_measured_across_chunks(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(unipen, "_CHUNK", chunk)
    fits = ".INCLUDE " + "x" * (unipen.MAX_LINE_BYTES - 9)  # exactly the limit, newline not counted
    assert_digits_equal(read_unipen(write(tmp_path / "fits", edit({2: fits}))), [SEVEN, FOUR])
    with pytest.raises(UnipenFormatError, match="^long:3: line longer than 1024 bytes"):
        read_unipen(write(tmp_path / "long", edit({3: fits + "x"})))
    with pytest.raises(UnipenFormatError, match="^end:29: line longer than 1024 bytes"):
        read_unipen(write(tmp_path / "end", edit({}) + fits + "x"))
