"""Saving, loading and comparing the typed records that travel between layers."""

from mmviz.records.serialize import load_record, save_record, record_to_dict, record_from_dict

__all__ = ["load_record", "save_record", "record_to_dict", "record_from_dict"]
