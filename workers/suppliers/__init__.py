"""Suppliers: feeds in (fetch, parse, rules, apply to OpenCart) and orders out (forward, tracking)."""
