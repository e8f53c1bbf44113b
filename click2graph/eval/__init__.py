"""Evaluation: the OpenPVSG layout loader and scores of predicted scene graphs against ground truth."""
