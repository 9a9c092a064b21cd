# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled cadence math over a call's chunk times (~100 per streamed call, measured at receipt and again for its
final record). processor.stream.cadence_math holds the pure-Python reference of each function and falls back to it
for what these refuse; tests/stream/test_cadence_compiled.py compares the two.

Chunk times are OTLP fixed64 values: unsigned 64-bit ints. Anything else (a time from a damaged request) makes
these functions answer False / None, for the reference to handle as it always has.
"""

from cpython.float cimport PyFloat_FromDouble
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from libc.stdlib cimport free, malloc, qsort

ctypedef unsigned long long u64

cdef double _NS = 1e-9


cdef int _ascending(const void *a, const void *b) noexcept nogil:
    cdef double x = (<const double *> a)[0]
    cdef double y = (<const double *> b)[0]
    return (x > y) - (x < y)


cdef int _times(list values, u64 *out) except -1:
    """The values as unsigned 64-bit ints; 1 when one of them is not one."""
    cdef Py_ssize_t i
    for i in range(len(values)):
        value = values[i]
        if type(value) is not int:  # not a bool, nor an int subclass
            return 1
        try:
            out[i] = value
        except OverflowError:  # negative, or wider than 64 bits
            return 1
    return 0


def strictly_increasing(list times) -> bool:
    """Each time later than the one before (chunk times sorted, without duplicates); False as well when a time is
    not an unsigned 64-bit int."""
    cdef Py_ssize_t i, n = len(times)
    cdef u64 before = 0, now
    for i in range(n):
        value = times[i]
        if type(value) is not int:
            return False
        try:
            now = value
        except OverflowError:
            return False
        if i and now <= before:
            return False
        before = now
    return True


def sorted_gaps(list times):
    """The gaps in seconds between consecutive times (ascending times), smallest first, as
    `sorted((b - a) * 1e-9 for a, b in pairs)` gives them; None when a time is not an unsigned 64-bit int or is
    earlier than the one before."""
    cdef Py_ssize_t i, n = len(times)
    if n < 2:
        return []
    cdef u64 *values = <u64 *> malloc(n * sizeof(u64))
    cdef double *gaps = <double *> malloc((n - 1) * sizeof(double))
    cdef list result
    if values == NULL or gaps == NULL:
        free(values)
        free(gaps)
        raise MemoryError()
    try:
        if _times(times, values):
            return None
        for i in range(1, n):
            if values[i] < values[i - 1]:
                return None
            # As Python computes (b - a) * 1e-9: the int difference rounded to the nearest double, then multiplied.
            gaps[i - 1] = (<double> (values[i] - values[i - 1])) * _NS
        qsort(gaps, n - 1, sizeof(double), _ascending)
        result = PyList_New(n - 1)
        for i in range(n - 1):
            gap = PyFloat_FromDouble(gaps[i])
            Py_INCREF(gap)
            PyList_SET_ITEM(result, i, gap)
        return result
    finally:
        free(values)
        free(gaps)
