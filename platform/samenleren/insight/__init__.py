"""Programme insight: did the training pay off? The report over the programme's trajectories.

A read-side face: it reads trajectories, the catalogue, coaching and process templates and
computes figures (`figures`) for a period and filters (`scope`); the report page, its team view
for managers and its CSV are in `views`. Nothing in the programme imports it. What people
write (expected results, their ratings) belongs to the programme (`trajectories.results`).
"""
