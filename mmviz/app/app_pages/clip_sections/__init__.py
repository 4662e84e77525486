"""Sections of the Clip review page, one small module each (the page wires them together)."""
