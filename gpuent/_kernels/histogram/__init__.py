"""Windowed histograms: one spec (:mod:`.spec`), three paths (reference, cpu, cuda)."""
