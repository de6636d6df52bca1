"""Evaluation metrics: accuracy and the paper's stability metrics."""
