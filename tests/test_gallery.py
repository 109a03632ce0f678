"""The My digits gallery, driven through its real list and buttons on a store of a few hundred digits."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton

from app.gallery import ICON, MyDigitsDialog
from lenet_core.idx import read_images, read_labels, write_idx
from lenet_core.my_digits import DigitStore

from .conftest import fake_digits


@pytest.fixture
def messages(monkeypatch) -> dict[str, list[str]]:
    """The dialog's warnings and notices, recorded instead of shown."""
    shown: dict[str, list[str]] = {"warning": [], "information": []}
    for kind in shown:
        monkeypatch.setattr(QMessageBox, kind, lambda *args, kind=kind: shown[kind].append(args[2]))
    return shown


@pytest.fixture
def store(tmp_path):
    images, labels = fake_digits(300, seed=11)
    write_idx(tmp_path / "fill-images-idx3-ubyte", images)
    write_idx(tmp_path / "fill-labels-idx1-ubyte", labels)
    with DigitStore(tmp_path / "my.sqlite") as store:
        store.import_idx(tmp_path / "fill-images-idx3-ubyte", tmp_path / "fill-labels-idx1-ubyte")
        yield store


@pytest.fixture
def dialog(qtbot, store, messages):
    dialog = MyDigitsDialog(store)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def click(qtbot, dialog: MyDigitsDialog, text: str) -> None:
    button = next(b for b in dialog.findChildren(QPushButton) if b.text() == text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def items(dialog: MyDigitsDialog) -> list:
    return [dialog.list.item(row) for row in range(dialog.list.count())]


def summary(store: DigitStore) -> str:
    counts = store.counts()
    return f"{len(store)} drawings: " + ", ".join(f"{d}: {n}" for d, n in counts.items())


def test_items_show_the_digits(dialog, store):
    samples = store.samples()
    assert [item.text() for item in items(dialog)] == [str(s.label) for s in samples]
    assert dialog.summary.text() == summary(store)
    for row in (0, 299):  # on screen and not: an icon is made when asked for
        icon = dialog.list.item(row).icon().pixmap(ICON, ICON).toImage()
        assert (icon.width(), icon.height()) == (ICON, ICON)
        image = samples[row].image
        for y, x in ((3, 5), (14, 14), (20, 7)):
            assert icon.pixelColor(2 * x + 1, 2 * y + 1).red() == image[y, x]


def test_relabel_one_changes_only_its_item(qtbot, dialog, store):
    before = items(dialog)
    texts = [item.text() for item in before]
    row = next(r for r, text in enumerate(texts) if text != "3")
    sample_id = store.samples()[row].id
    dialog.list.item(row).setSelected(True)
    dialog.relabel_to.setCurrentText("3")
    with qtbot.waitSignal(dialog.changed, timeout=1000):
        click(qtbot, dialog, "Relabel as")
    after = items(dialog)
    assert all(a is b for a, b in zip(after, before, strict=True))  # the same items, not a rebuilt list
    assert [item.text() for item in after] == [*texts[:row], "3", *texts[row + 1 :]]
    assert {s.id: s.label for s in store.samples()}[sample_id] == 3
    assert dialog.summary.text() == summary(store)
    assert dialog.list.selectedItems() == []


def test_relabel_under_a_filter_removes_what_it_hides(qtbot, dialog, store):
    dialog.filter.setCurrentIndex(dialog.filter.findData(4))
    shown = items(dialog)
    assert len(shown) >= 10 and {item.text() for item in shown} == {"4"}
    fours = [s.id for s in store.samples(label=4)]
    rows = [1, 2, 7]
    for row in rows:
        dialog.list.item(row).setSelected(True)
    dialog.relabel_to.setCurrentText("4")  # the label it already has: all stay
    click(qtbot, dialog, "Relabel as")
    assert all(a is b for a, b in zip(items(dialog), shown, strict=True))
    for row in rows:
        dialog.list.item(row).setSelected(True)
    dialog.relabel_to.setCurrentText("6")
    click(qtbot, dialog, "Relabel as")
    kept = [item for row, item in enumerate(shown) if row not in rows]
    assert all(a is b for a, b in zip(items(dialog), kept, strict=True))
    assert [s.id for s in store.samples(label=4)] == [i for n, i in enumerate(fours) if n not in rows]
    assert {s.id for s in store.samples(label=6)} >= {fours[row] for row in rows}
    assert dialog.summary.text() == summary(store)


def test_delete_many_in_one_go(qtbot, dialog, store):
    ids = [s.id for s in store.samples()]
    before = items(dialog)
    rows = [*range(0, 300, 3), 299]
    for row in rows:
        dialog.list.item(row).setSelected(True)
    commits = []
    store._db.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    with qtbot.waitSignal(dialog.changed, timeout=1000):
        click(qtbot, dialog, "Delete")
    assert len(commits) == 1  # one transaction, one fsync
    kept = [row for row in range(300) if row not in rows]
    assert [s.id for s in store.samples()] == [ids[row] for row in kept]
    assert all(a is before[row] for a, row in zip(items(dialog), kept, strict=True))
    assert dialog.summary.text() == summary(store)
    dialog.list.selectAll()
    click(qtbot, dialog, "Delete")
    assert len(store) == 0 and dialog.list.count() == 0
    assert dialog.summary.text().startswith("0 drawings")


def test_export_to_a_folder_that_cannot_be_written_warns(qtbot, dialog, store, messages, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_bytes(b"not a folder")
    target = tmp_path / "a-file" / "export"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(target))
    before, files = store.samples(), sorted(tmp_path.iterdir())
    click(qtbot, dialog, "Export IDX…")  # pytest-qt fails the test if the slot raises
    assert len(messages["warning"]) == 1 and str(target) in messages["warning"][0]
    assert messages["information"] == []
    assert [(s.id, s.label) for s in store.samples()] == [(s.id, s.label) for s in before]
    assert sorted(tmp_path.iterdir()) == files and (tmp_path / "a-file").read_bytes() == b"not a folder"

    target = tmp_path / "out"  # a folder that can be written: exported, and said so
    click(qtbot, dialog, "Export IDX…")
    assert len(messages["warning"]) == 1 and messages["information"] == [f"Exported 300 drawings to {target}"]
    images, labels = store.arrays()
    assert np.array_equal(read_images(target / "mydigits-train-images-idx3-ubyte.gz"), images)
    assert np.array_equal(read_labels(target / "mydigits-train-labels-idx1-ubyte.gz"), labels)
