"""Process templates: the ordered, configurable steps of a trajectory, as versioned data."""
