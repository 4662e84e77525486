"""Sections of a page, one module each (the page file only calls them)."""
