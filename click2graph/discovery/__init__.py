"""Dynamic Interaction Discovery: the objects a subject interacts with on one frame, found by a strategy.

* :mod:`.base`: the :class:`~.base.DiscoveryStrategy` call, its knobs (``DiscoveryConfig``) and ``Proposal``;
* :mod:`.registry`: the strategies by name (what the CLI, the evaluation and the app offer);
* :mod:`.training_free`: the default, rule-based strategy (any backend), with its GrabCut proposals in :mod:`.cuts`;
* :mod:`.heuristic`: the paper's Table 4 baseline, points from a whole-frame heat map;
* :mod:`.learned`: the trained DIDM (SAM 2 backend);
* :mod:`.points`: decoding the point prompts of the last two into proposals;
* :mod:`.backdrop`: read by the pipeline over a discovered object's whole track: the subject's backdrop, and a
  still surface the frame cuts, are dropped.
"""
