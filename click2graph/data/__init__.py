"""Datasets: the OpenPVSG layout (annotations, masks) and its frames, read for evaluation, training and the prior."""
