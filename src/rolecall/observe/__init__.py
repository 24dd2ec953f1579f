"""Observation: what a served request leaves behind, and the live evidence routing learns from.

The recorder observes requests and hands them to a `Sink` (`ports`); `rows` builds their records,
`profile_refresh` keeps live observed profiles, and `evidence` takes benchmark samples in. Storage
implements the ports; this package never imports it.
"""
