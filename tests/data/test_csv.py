import numpy as np
import pytest

from specc.data import check_data, load_data
from specc.data.csvfile import load_csv
from specc.errors import DataError, SpecError
from specc.ir import DataSpec, Source


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_numeric_target_last_column_by_default(tmp_path):
    raw = load_csv(write(tmp_path, "a,b,y\n1,2,0.5\n3,4,1.5\n"))
    np.testing.assert_array_equal(raw.x, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(raw.y, [0.5, 1.5])
    assert raw.features == "2 feature columns"


def test_named_target_blank_lines_bom_and_spaces(tmp_path):
    raw = load_csv(write(tmp_path, "\ufeffy, a ,b\n\ncat, 1 ,2\n\ndog,3,4\n"), target="y")
    np.testing.assert_array_equal(raw.x, [[1, 2], [3, 4]])
    assert list(raw.y) == ["cat", "dog"] and raw.labels
    assert list(raw.lines) == [3, 5]


def test_labels_map_to_sorted_classes_across_sources(tmp_path, program):
    write(tmp_path, "a,label\n1,dog\n2,cat\n3,dog\n", "train.csv")
    write(tmp_path, "a,label\n1,bird\n", "test.csv")
    p = program(DataSpec(train=Source("csv", {"path": "train.csv", "target": "label"}),
                         test=Source("csv", {"path": "test.csv", "target": "label"})),
                input_shape=(1,), output_shape=(3,), path=str(tmp_path / "spec.nn"))
    ds = load_data(p)
    assert ds.classes == ("bird", "cat", "dog")
    np.testing.assert_array_equal(ds.train.y, [2, 1, 2])
    np.testing.assert_array_equal(ds.test.y, [0])
    assert ds.train.y.dtype == np.int64


def test_classes_order_from_spec_and_unknown_label(tmp_path, program):
    write(tmp_path, "a,label\n1,dog\n2,cat\n3,emu\n")
    spec = DataSpec(train=Source("csv", {"path": "d.csv", "target": "label"}), classes=("dog", "cat", "emu"))
    p = program(spec, input_shape=(1,), output_shape=(3,), path=str(tmp_path / "s.nn"))
    np.testing.assert_array_equal(load_data(p).train.y, [0, 1, 2])
    spec = DataSpec(train=Source("csv", {"path": "d.csv", "target": "label"}), classes=("dog", "cat"))
    with pytest.raises(DataError, match="'emu' is not one of the classes") as e:
        load_data(program(spec, input_shape=(1,), output_shape=(3,), path=str(tmp_path / "s.nn")))
    assert e.value.pos.line == 4


def test_numeric_labels_matched_against_classes_as_text(tmp_path, program):
    write(tmp_path, "a,label\n1,3\n2,7\n")
    spec = DataSpec(train=Source("csv", {"path": "d.csv", "target": "label"}), classes=("7", "3"))
    ds = load_data(program(spec, input_shape=(1,), path=str(tmp_path / "s.nn")))
    np.testing.assert_array_equal(ds.train.y, [1, 0])


@pytest.mark.parametrize("text, line, pattern", [
    ("a,b,y\n1,2,3\n4,5\n", 3, "line 3 has 2 fields; the header has 3"),
    ("a,b,y\n1,2,3\n4,five,6\n", 3, "column 'b': 'five' is not a number"),
    ("a,b,y\n1,,3\n", 2, "column 'b': is empty"),
    ("a,b,y\n1,inf,3\n", 2, "not a finite number"),
    ("a,b,y\n1,2,\n", 2, "target 'y' is empty"),
])
def test_bad_rows_name_file_line_and_column(tmp_path, text, line, pattern):
    path = write(tmp_path, text)
    with pytest.raises(DataError, match=pattern) as e:
        load_csv(path)
    assert e.value.pos.file == path and e.value.pos.line == line
    assert "^" in e.value.render()  # the row is shown with a caret


def test_bad_cell_caret_points_at_the_field(tmp_path):
    with pytest.raises(DataError) as e:
        load_csv(write(tmp_path, "a,b,y\n1,2,3\n10,xx,6\n"))
    assert e.value.pos.column == 4


@pytest.mark.parametrize("text, pattern", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("a,b,y\n", "header but no data rows"),
])
def test_empty_files(tmp_path, text, pattern):
    with pytest.raises(DataError, match=pattern):
        load_csv(write(tmp_path, text))


def test_missing_target_column_suggests(tmp_path):
    with pytest.raises(DataError, match="no target column 'lable'") as e:
        load_csv(write(tmp_path, "a,label\n1,2\n"), target="lable")
    assert "did you mean `label`" in e.value.render()


def test_only_target_column(tmp_path):
    with pytest.raises(DataError, match="no feature columns"):
        load_csv(write(tmp_path, "y\n1\n"))


def test_not_utf8(tmp_path):
    p = tmp_path / "d.csv"
    p.write_bytes(b"a,y\n\xff\xfe,1\n")
    with pytest.raises(DataError, match="UTF-8"):
        load_csv(str(p))


def test_delimiter(tmp_path):
    raw = load_csv(write(tmp_path, "a;b;y\n1;2;3\n"), delimiter=";")
    np.testing.assert_array_equal(raw.x, [[1, 2]])


def test_missing_file_shows_path_resolved_against_spec(tmp_path, program):
    p = program(DataSpec(train=Source("csv", {"path": "data/nope.csv"})), path=str(tmp_path / "m.nn"))
    errs = check_data(p)
    assert len(errs) == 1 and isinstance(errs[0], DataError) and isinstance(errs[0], SpecError)
    assert str(tmp_path / "data" / "nope.csv") in errs[0].render()
    assert "spec's directory" in errs[0].render()


def test_feature_count_mismatch_message(tmp_path, program):
    write(tmp_path, "a,b,c,d,e,y\n1,2,3,4,5,0\n", "train.csv")
    p = program(DataSpec(train=Source("csv", {"path": "train.csv", "target": "y"})), input_shape=(4,),
                path=str(tmp_path / "m.nn"))
    [err] = check_data(p)
    assert "train.csv has 5 feature columns; the model input is [4]" in err.message


def test_a_delimiter_of_several_characters_is_a_front_end_error():
    from specbuild import data_error

    text = data_error('train = csv("d.csv", delimiter=";;")')
    assert "delimiter` must be one character" in text and "m.nn:6:34:" in text  # file, line, column of the value
