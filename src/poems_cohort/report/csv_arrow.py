"""A frame's CSV text as ``DataFrame.to_csv(index=False, lineterminator="\\n")`` writes it,
built column by column and joined by Arrow's CSV writer.

``to_csv`` hands every row to Python's ``csv`` writer, one cell at a time: at 10⁶ patients
(66 columns) that loop is most of the time the report takes. Here each column is turned into
its text once, as a whole (a float column of few distinct values from the text of each
distinct value), and ``pyarrow.csv.write_csv`` writes the rows without quoting. The text of
each cell is what ``to_csv`` writes:

- float64: ``repr`` of the value, the text numpy's ``astype(str)`` gives and ``to_csv`` uses
  (shortest round trip: ``0.1``, ``1e-05``, ``1.5e+16``, ``-0.0``, ``inf``), blank for NaN
  (:func:`float_strings`);
- integers (numpy, or pandas' nullable ``Int64``…): decimal digits, blank for ``<NA>``;
- booleans (numpy or nullable): ``True``/``False``, blank for ``<NA>``;
- text (``object`` holding only strings and missing values, or a pandas string dtype): the
  text itself, blank when missing.

Anything else (dates, timedeltas, categories, objects of mixed kinds, a text that Python's
``csv`` writer would quote, a carriage return, a frame of one column or of no rows) gives
``None``, and the caller writes that piece with ``to_csv``: the bytes are the same either way
(``tests/report/test_csv_arrow.py`` compares them on awkward frames).
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

#: A column of at most this share of distinct values is formatted once per distinct value.
FEW_DISTINCT = 0.25

#: A text holding one of these is quoted by Python's ``csv`` writer, or (a carriage return,
#: which that writer leaves bare up to Python 3.11 at least) refused unquoted by Arrow's: its
#: piece is written by ``to_csv``.
UNWRITABLE = re.compile(r'[,"\r\n]')


def header_text(names: list[str]) -> bytes:
    """The header line ``to_csv`` writes for ``names``."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    return buf.getvalue().encode("utf-8")


def _blank_where(text: pa.Array, missing: np.ndarray | None) -> pa.Array:
    if missing is None or not missing.any():
        return text
    return pc.if_else(pa.array(missing), pa.scalar("", pa.string()), text)


#: Where Arrow's float text is Python's ``repr``: non-integral values of magnitude in
#: [1e-4, 1e9) are written positionally by both, with the same shortest round-trip digits
#: (checked on 12 million random values; ``tests/report/test_csv_arrow.py`` checks a sample).
#: Outside it Arrow writes ``1`` for ``1.0`` and ``1.5e+10`` for ``15000000000.5``: ``repr``.
ARROW_FLOAT_TEXT = (1e-4, 1e9)


def float_strings(values: np.ndarray) -> pa.Array:
    """``repr`` of each float64 of ``values`` (``nan`` for NaN): Arrow's cast where it writes
    the same text (:data:`ARROW_FLOAT_TEXT`, about 15 times faster), ``repr`` elsewhere."""
    low, high = ARROW_FLOAT_TEXT
    text = pc.cast(pa.array(values, pa.float64()), pa.string())
    with np.errstate(invalid="ignore"):
        size = np.abs(values)
        other = ~((size >= low) & (size < high) & (values != np.trunc(values)))
    if other.any():
        fixed = pa.array(list(map(repr, values[other].tolist())), pa.string())
        text = pc.replace_with_mask(text, pa.array(other), fixed)
    return text


def distinct_float_text(values: np.ndarray) -> pa.Array | None:
    """The CSV text of a float64 column (blank for NaN) made once per distinct value (told
    apart by their bits: ``-0.0`` stays ``-0.0``), or ``None`` when more than
    :data:`FEW_DISTINCT` of its values are distinct."""
    codes, uniques = pd.factorize(np.ascontiguousarray(values).view(np.int64))
    if len(uniques) > FEW_DISTINCT * len(values):
        return None
    floats = np.asarray(uniques).view(np.float64)
    text = _blank_where(float_strings(floats), np.isnan(floats))
    return text.take(pa.array(codes, pa.int64()))


def _float_column(values: np.ndarray) -> pa.Array:
    text = distinct_float_text(values)
    return text if text is not None else _blank_where(float_strings(values), np.isnan(values))


def _text_column(col: pd.Series) -> pa.Array | None:
    if isinstance(col.dtype, pd.StringDtype):
        text = pa.array(col.array, pa.string(), from_pandas=True)
    elif col.dtype.kind == "O":
        if pd.api.types.infer_dtype(col, skipna=True) not in ("string", "empty"):
            return None
        text = pa.array(col.to_numpy(object), pa.string(), from_pandas=True)
    else:
        return None
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if len(text) and pc.any(pc.match_substring_regex(text, UNWRITABLE.pattern)).as_py():
        return None
    return text.fill_null("")


def column_text(col: pd.Series) -> pa.Array | None:
    """The CSV text of each cell of ``col`` as ``to_csv`` writes it, or ``None`` when the
    column is of a kind not handled here (see the module's note)."""
    dtype = col.dtype
    if isinstance(dtype, np.dtype):
        if dtype == np.float64:
            return _float_column(np.ascontiguousarray(col.to_numpy()))
        if dtype.kind in "iu":
            return pc.cast(pa.array(col.to_numpy()), pa.string())
        if dtype.kind == "b":
            return pa.array(np.where(col.to_numpy(), "True", "False").astype(object),
                            pa.string())
        if dtype.kind == "O":
            return _text_column(col)
        return None
    if isinstance(dtype, pd.StringDtype):
        return _text_column(col)
    if isinstance(dtype, pd.CategoricalDtype):
        # each category's text once, then spread by the codes (-1, missing: blank)
        levels = column_text(pd.Series(dtype.categories))
        if levels is None:
            return None
        codes = col.cat.codes.to_numpy()
        missing = codes < 0
        if not len(levels):  # no categories: every cell missing
            return pa.array([""] * len(codes), pa.string())
        text = levels.take(pa.array(np.where(missing, 0, codes), pa.int64()))
        return _blank_where(text, missing)
    if isinstance(dtype, pd.BooleanDtype):
        missing = col.isna().to_numpy()
        values = col.to_numpy(dtype=bool, na_value=False)
        return _blank_where(pa.array(np.where(values, "True", "False").astype(object),
                                     pa.string()), missing)
    if (isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iu"
            and isinstance(col.array, pd.arrays.IntegerArray)):
        missing = col.isna().to_numpy()
        values = col.to_numpy(dtype=dtype.numpy_dtype, na_value=0)
        return _blank_where(pc.cast(pa.array(values), pa.string()), missing)
    return None


def csv_text(part: pd.DataFrame, *, header: bool) -> bytes | None:
    """``part.to_csv(index=False, header=header, lineterminator="\\n")`` encoded as UTF-8,
    or ``None`` when a column or a cell is of a kind only ``to_csv`` writes (then call it)."""
    names = list(part.columns)
    if len(names) < 2 or len(part) == 0 or len(set(names)) != len(names):
        return None  # one column: csv quotes an empty cell; none: to_csv writes the header
    if not all(isinstance(c, str) for c in names):
        return None
    columns = []
    for name in names:
        text = column_text(part[name])
        if text is None:
            return None
        columns.append(text)
    sink = io.BytesIO()
    if header:
        sink.write(header_text(names))
    table = pa.table(columns, names=[f"c{i}" for i in range(len(names))])
    try:
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    except TypeError:  # a pyarrow without quoting styles: to_csv writes it
        return None
    try:
        pacsv.write_csv(table, sink, options)
    except pa.ArrowInvalid:  # a cell Arrow would have to quote
        return None
    return sink.getvalue()
