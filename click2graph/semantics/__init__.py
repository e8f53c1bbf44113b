"""Semantics: the OpenPVSG vocabulary, pluggable predicate scorers, temporal smoothing and relation building."""

from click2graph.semantics.base import EntityClassifier, EntityView, FrameGeometry, PredicateScorer
from click2graph.semantics.geometric import GeometricConfig, GeometricScorer
from click2graph.semantics.relations import RelationConfig, build_relations, default_labels, relation_pairs
from click2graph.semantics.smoothing import SmoothedSpans, SmoothingConfig, smooth_scores
from click2graph.semantics.vocab import OPENPVSG, Vocabulary, load_openpvsg_vocab

__all__ = [
    "OPENPVSG",
    "EntityClassifier",
    "EntityView",
    "FrameGeometry",
    "GeometricConfig",
    "GeometricScorer",
    "PredicateScorer",
    "RelationConfig",
    "SmoothedSpans",
    "SmoothingConfig",
    "Vocabulary",
    "build_relations",
    "default_labels",
    "load_openpvsg_vocab",
    "relation_pairs",
    "smooth_scores",
]
