"""Live quality: answers graded after they were served (shadow judging).

`rubric` is the reference-free grading question and its answer's parsing (pure); `shadow`
the use case that picks a share of answered requests, asks the judge endpoint off the request
path and stores each grade as a ``live_judged`` sample of the endpoint that answered.
"""
