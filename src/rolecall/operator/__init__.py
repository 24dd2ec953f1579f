"""Operator use cases: the routing posture, role-binding edits and adding endpoints at run time.

The console's handlers (and any other front end) call these; each change reaches the router
through `rolecall.execution.state.RoutingState.update` and, where it must survive a restart, the
operator's overrides file.
"""

from rolecall.operator.endpoints import add_endpoints
from rolecall.operator.overrides import Operator
from rolecall.operator.posture import BINDING_CHOICES, Posture, current_posture, modes_for

__all__ = [
    "BINDING_CHOICES",
    "Operator",
    "Posture",
    "add_endpoints",
    "current_posture",
    "modes_for",
]
