"""Planners that run before the router decides (the routing modes): the routing controller's
call and the difficulty classifier endpoint. Use cases: they reach endpoints only through
execution's ports."""
