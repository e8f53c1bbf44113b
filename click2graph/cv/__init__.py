"""Weight-free vision primitives shared by the classic backend and discovery, one implementation each.

* :mod:`.colour`: Lab colour codes, histograms and colour rarity;
* :mod:`.flow`: dense optical flow and its per-video cache;
* :mod:`.grabcut`: deterministic GrabCut;
* :mod:`.objectness`: how much a candidate mask looks like one whole object.
"""
