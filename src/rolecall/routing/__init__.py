"""Deterministic, explainable routing: eligibility rules, metric scoring, tie-breaks, fallbacks."""

from rolecall.routing.candidate import (
    Candidate,
    Evidence,
    QualityEstimate,
    RoutingSignals,
    parse_candidate,
)
from rolecall.routing.cases import RoutingCase, conformance_problems, load_case
from rolecall.routing.decay import RecencyDecay
from rolecall.routing.decision import Decision
from rolecall.routing.eligibility import RULES, Rule
from rolecall.routing.metrics import METRICS, Scored
from rolecall.routing.policy import PolicySnapshot
from rolecall.routing.ranking import SCORE_TIE_EPSILON
from rolecall.routing.request import RoutingRequest, parse_routing_request
from rolecall.routing.router import SCORING_VERSION, Router
from rolecall.routing.weights import STRATEGY_WEIGHTS

__all__ = [
    "METRICS",
    "RULES",
    "SCORE_TIE_EPSILON",
    "SCORING_VERSION",
    "STRATEGY_WEIGHTS",
    "Candidate",
    "Decision",
    "Evidence",
    "PolicySnapshot",
    "QualityEstimate",
    "RecencyDecay",
    "Router",
    "RoutingCase",
    "RoutingRequest",
    "RoutingSignals",
    "Rule",
    "Scored",
    "conformance_problems",
    "load_case",
    "parse_candidate",
    "parse_routing_request",
]
