"""Datasets: readers for the raw data, curation into manifests, batches for training."""
