"""Trajectories: one learner's path through one edition, step by step."""
