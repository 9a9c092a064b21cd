from __future__ import annotations

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

from processor.model import otlp_attrs as a


def _kv(key, **value):
    return KeyValue(key=key, value=AnyValue(**value))


ATTRS = [
    _kv("s", string_value="x"), _kv("i", int_value=7), _kv("d", double_value=2.5), _kv("whole", double_value=3.0),
    _kv("b", bool_value=True), _kv("sb", string_value="False"),
    _kv("arr", array_value=ArrayValue(values=[AnyValue(string_value="stop"), AnyValue(int_value=1)])),
    _kv("json_arr", string_value='["length"]'),
    _kv("kv", kvlist_value=KeyValueList(values=[_kv("n", int_value=1), _kv("m", array_value=ArrayValue())])),
    _kv("s", string_value="last"),
]


def test_typed_getters_return_none_for_missing_keys_and_other_types():
    m = a.attr_map(ATTRS)
    assert a.get_str(m, "s") == "x"  # the first of a repeated key wins, as find() and the Collector take it
    assert a.get_str(m, "i") is None and a.get_str(m, "nope") is None
    assert (a.get_int(m, "i"), a.get_int(m, "whole"), a.get_int(m, "d"), a.get_int(m, "b")) == (7, 3, None, None)
    assert (a.get_float(m, "d"), a.get_float(m, "i"), a.get_float(m, "s")) == (2.5, 7.0, None)
    assert (a.get_bool(m, "b"), a.get_bool(m, "sb"), a.get_bool(m, "i")) == (True, False, None)
    assert a.get_str_list(m, "arr") == ["stop"]
    assert a.get_str_list(m, "json_arr") == ["length"]
    assert a.get_str_list(m, "i") is None


def test_map_holds_references_not_copies():
    m = a.attr_map(ATTRS)
    assert m["i"] is ATTRS[1].value


def test_scans_without_a_map():
    assert a.find(ATTRS, "d").double_value == 2.5
    assert a.find(ATTRS, "s").string_value == a.attr_map(ATTRS)["s"].string_value == "x"
    assert a.find(ATTRS, "missing") is None
    assert a.has_prefix(ATTRS, ("zz", "js"))
    assert not a.has_prefix(ATTRS, ("gen_ai.",))


def test_structured_values_to_python():
    assert a.to_python(a.attr_map(ATTRS)["kv"]) == {"n": 1, "m": []}
    assert a.to_python(None) is None


def test_first_of_several_keys():
    m = a.attr_map(ATTRS)
    assert a.first_str(m, ("missing", "i", "s")) == "x"
    assert a.first_int(m, ("missing", "s", "i")) == 7
