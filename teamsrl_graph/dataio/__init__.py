"""Data in and out: seeds, records and exported datasets."""
