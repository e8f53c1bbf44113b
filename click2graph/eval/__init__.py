"""Evaluation: scores of predicted scene graphs against OpenPVSG ground truth, and the paper's protocol."""
